// beginRenewal, getRenewal, completeRenewal (docs/daemon.md, "Renewals"). A renewal belongs
// to the origin that began it: another origin is told it does not exist. A program on this
// computer (no origin) sees every renewal: it could reach the token through PC/SC anyway.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../core/args.hpp"
#include "../state/audit_log.hpp"
#include "../views/json_views.hpp"
#include "../workflows/renewal.hpp"
#include "handlers.hpp"

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxCertificatePem = 8192;  // a 4 KiB certificate as PEM, with room

Renewal renewal_for(Services& services, const Caller& caller, const std::string& id) {
  std::optional<Renewal> renewal = services.renewals.find(id);
  if (!renewal || (caller.origin && renewal->origin != caller.origin_text())) throw ApiError(ErrorCode::renewal_not_found);
  return *renewal;
}

std::vector<std::uint8_t> der_of_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> certificate(
      bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, X509_free);
  if (!certificate) throw ApiError(ErrorCode::bad_request, "\"certificate\" is not a PEM X.509 certificate");
  const int n = i2d_X509(certificate.get(), nullptr);
  std::vector<std::uint8_t> der(static_cast<std::size_t>(n));
  unsigned char* p = der.data();
  i2d_X509(certificate.get(), &p);
  return der;
}

class BeginRenewal : public Command {
 public:
  BeginRenewal(std::uint32_t serial, std::string certificate) : serial_(serial), certificate_(std::move(certificate)) {}
  std::optional<std::uint32_t> token(Services&, const Caller&) const override { return serial_; }
  CommandResult run(CommandContext& context) override {
    const Renewal renewal =
        begin_renewal(*context.work, context.services.renewals, certificate_, context.caller.origin_text());
    context.audit->reference = renewal.id;
    return json_result({{"renewal", renewal_json(renewal, true)}}, 201);
  }

 private:
  std::uint32_t serial_;
  std::string certificate_;
};

class GetRenewal : public Command {
 public:
  explicit GetRenewal(std::string id) : id_(std::move(id)) {}
  CommandResult run(CommandContext& context) override {
    return json_result({{"renewal", renewal_json(renewal_for(context.services, context.caller, id_), true)}});
  }

 private:
  std::string id_;
};

class CompleteRenewal : public Command {
 public:
  CompleteRenewal(std::string id, std::vector<std::uint8_t> certificate)
      : id_(std::move(id)), certificate_(std::move(certificate)) {}
  std::optional<std::uint32_t> token(Services& services, const Caller& caller) const override {
    return renewal_for(services, caller, id_).serial;
  }
  CommandResult run(CommandContext& context) override {
    context.audit->reference = id_;
    const Renewal renewal = renewal_for(context.services, context.caller, id_);
    complete_renewal(*context.work, context.services.renewals, renewal, certificate_);
    return json_result({{"renewal", renewal_json(renewal, false)}});
  }

 private:
  std::string id_;
  std::vector<std::uint8_t> certificate_;
};

}  // namespace

std::unique_ptr<Command> parse_begin_renewal(const nlohmann::json& args) {
  expect_members(args, {"token", "certificate"});
  return std::make_unique<BeginRenewal>(serial_arg(args, "token"), key_id_arg(args, "certificate"));
}

std::unique_ptr<Command> parse_get_renewal(const nlohmann::json& args) {
  expect_members(args, {"id"});
  return std::make_unique<GetRenewal>(renewal_id_arg(args, "id"));
}

std::unique_ptr<Command> parse_complete_renewal(const nlohmann::json& args) {
  expect_members(args, {"id", "certificate"});
  return std::make_unique<CompleteRenewal>(renewal_id_arg(args, "id"),
                                           der_of_pem(string_arg(args, "certificate", kMaxCertificatePem)));
}

}  // namespace certkey::daemon
