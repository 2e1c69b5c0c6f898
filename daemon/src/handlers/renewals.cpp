// beginRenewal, getRenewal, listRenewals, completeRenewal, cancelRenewal (docs/daemon.md,
// "Renewals"). A renewal belongs to the origin that began it: another origin is told it
// does not exist. A program on this computer (no origin) sees every renewal: it could reach
// the token through PC/SC anyway.
#include "../config/config.hpp"
#include "../core/args.hpp"
#include "../state/audit_log.hpp"
#include "../views/json_views.hpp"
#include "../workflows/enrolment.hpp"
#include "../workflows/renewal.hpp"
#include "handlers.hpp"

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxCertificatePem = 8192;  // a 4 KiB certificate as PEM, with room
constexpr std::size_t kMaxChainPem = 65536;

bool visible_to(const Renewal& renewal, const Caller& caller) {
  return !caller.origin || renewal.origin == caller.origin_text();
}

Renewal renewal_for(Services& services, const Caller& caller, const std::string& id) {
  std::optional<Renewal> renewal = services.renewals.find(id);
  if (!renewal || !in_progress(renewal->state) || !visible_to(*renewal, caller)) {
    throw ApiError(ErrorCode::renewal_not_found);
  }
  return *renewal;
}

RenewalContext renewal_context(CommandContext& context, TokenWork& work) {
  return {work, context.services.renewals, context.services.trust,
          context.services.config.superseded_retention};
}
RenewalContext renewal_context(CommandContext& context) {
  return renewal_context(context, *context.work);
}

class BeginRenewal : public Command {
 public:
  BeginRenewal(std::uint32_t serial, std::string certificate, std::optional<KeyAlgorithm> algorithm)
      : serial_(serial), certificate_(std::move(certificate)), algorithm_(algorithm) {}
  std::optional<std::uint32_t> token(Services&, const Caller&) const override { return serial_; }
  CommandResult run(CommandContext& context) override {
    RenewalContext workflow = renewal_context(context);
    const Renewal renewal = begin_renewal(workflow, certificate_, algorithm_);
    context.audit->reference = renewal.id;
    return json_result({{"renewal", renewal_json(renewal)}}, 201);
  }

 private:
  std::uint32_t serial_;
  std::string certificate_;
  std::optional<KeyAlgorithm> algorithm_;
};

class GetRenewal : public Command {
 public:
  explicit GetRenewal(std::string id) : id_(std::move(id)) {}
  CommandResult run(CommandContext& context) override {
    return json_result(
        {{"renewal", renewal_json(renewal_for(context.services, context.caller, id_))}});
  }

 private:
  std::string id_;
};

class ListRenewals : public Command {
 public:
  CommandResult run(CommandContext& context) override {
    nlohmann::json list = nlohmann::json::array();
    for (const Renewal& r : context.services.renewals.all()) {
      if (in_progress(r.state) && visible_to(r, context.caller)) list.push_back(renewal_json(r));
    }
    return json_result({{"renewals", list}});
  }
};

class CompleteRenewal : public Command {
 public:
  CompleteRenewal(std::string id, IssuedCertificate issued)
      : id_(std::move(id)), issued_(std::move(issued)) {}
  std::optional<std::uint32_t> token(Services& services, const Caller& caller) const override {
    return renewal_for(services, caller, id_).serial;
  }
  CommandResult run(CommandContext& context) override {
    context.audit->reference = id_;
    RenewalContext workflow = renewal_context(context);
    const Renewal done =
        complete_renewal(workflow, renewal_for(context.services, context.caller, id_), issued_);
    return json_result({{"renewal", renewal_json(done)}});
  }

 private:
  std::string id_;
  IssuedCertificate issued_;
};

// The PIN asked once for the whole command: enrolling signs the TLS handshake on the token,
// completing writes the certificate, each in a session of its own.
TokenWork asking_pin_once(const TokenWork& work) {
  TokenWork once = work;
  auto kept = std::make_shared<std::optional<pinentry::Secret>>();
  once.secret = [ask = work.secret, kept](SecretKind kind, const OperationText& text) {
    if (kind != SecretKind::pin) return ask(kind, text);
    if (!*kept) *kept = ask(kind, text);
    return pinentry::Secret((*kept)->view());
  };
  return once;
}

// The renewal of this token's certificate that awaits its certificate, or a new one.
Renewal awaiting_or_new(RenewalContext& workflow, Services& services, std::uint32_t serial,
                        const std::string& certificate) {
  for (const Renewal& r : services.renewals.all()) {
    if (r.serial == serial && r.certificate_id == certificate &&
        r.state == RenewalState::awaiting_certificate)
      return r;
  }
  return begin_renewal(workflow, certificate, std::nullopt);
}

// enrollRenewal: the request goes to the CA's server (EST, or the authorization endpoint)
// and the certificate it issues completes the renewal. Named by its id, or by the token and
// certificate, when it begins the renewal too (or takes up the one awaiting its
// certificate). A program on this computer only: a web page may not have the daemon
// connect elsewhere with the holder's key.
class EnrollRenewal : public Command {
 public:
  struct Target {
    std::string id;  // or:
    std::uint32_t serial = 0;
    std::string certificate;
  };
  EnrollRenewal(Target target, HttpUrl server, EnrolmentProtocol protocol)
      : target_(std::move(target)), server_(std::move(server)), protocol_(protocol) {}
  std::optional<std::uint32_t> token(Services& services, const Caller& caller) const override {
    return target_.id.empty() ? target_.serial : renewal_for(services, caller, target_.id).serial;
  }
  CommandResult run(CommandContext& context) override {
    if (context.caller.origin) {
      throw ApiError(ErrorCode::origin_not_allowed,
                     "enrolment with a CA server is for programs on this computer");
    }
    TokenWork work = asking_pin_once(*context.work);
    RenewalContext workflow = renewal_context(context, work);
    const Renewal renewal =
        target_.id.empty()
            ? awaiting_or_new(workflow, context.services, target_.serial, target_.certificate)
            : renewal_for(context.services, context.caller, target_.id);
    context.audit->reference = renewal.id;
    const IssuedCertificate issued = enrol(workflow, renewal, server_, protocol_);
    return json_result({{"renewal", renewal_json(complete_renewal(workflow, renewal, issued))}});
  }

 private:
  Target target_;
  HttpUrl server_;
  EnrolmentProtocol protocol_;
};

class CancelRenewal : public Command {
 public:
  explicit CancelRenewal(std::string id) : id_(std::move(id)) {}
  std::optional<std::uint32_t> token(Services& services, const Caller& caller) const override {
    return renewal_for(services, caller, id_).serial;
  }
  CommandResult run(CommandContext& context) override {
    context.audit->reference = id_;
    Renewal renewal = renewal_for(context.services, context.caller, id_);
    RenewalContext workflow = renewal_context(context);
    cancel_renewal(workflow, renewal);
    nlohmann::json view = renewal_json(renewal);
    view["state"] = "cancelled";
    view["updated"] = utc_now_iso();
    return json_result({{"renewal", view}});
  }

 private:
  std::string id_;
};

}  // namespace

std::unique_ptr<Command> parse_begin_renewal(const nlohmann::json& args) {
  expect_members(args, {"token", "certificate"}, {"algorithm"});
  std::optional<KeyAlgorithm> algorithm;
  if (args.contains("algorithm")) {
    algorithm = algorithm_from_name(string_arg(args, "algorithm", 16));
    if (!algorithm)
      throw ApiError(ErrorCode::bad_request, "\"algorithm\" is ecc-p256, ecc-p384 or rsa-2048");
  }
  return std::make_unique<BeginRenewal>(serial_arg(args, "token"), key_id_arg(args, "certificate"),
                                        algorithm);
}

std::unique_ptr<Command> parse_get_renewal(const nlohmann::json& args) {
  expect_members(args, {"id"});
  return std::make_unique<GetRenewal>(renewal_id_arg(args, "id"));
}

std::unique_ptr<Command> parse_list_renewals(const nlohmann::json& args) {
  expect_members(args, {});
  return std::make_unique<ListRenewals>();
}

std::unique_ptr<Command> parse_complete_renewal(const nlohmann::json& args) {
  expect_members(args, {"id", "certificate"}, {"chain"});
  const std::string chain =
      args.contains("chain") ? string_arg(args, "chain", kMaxChainPem) : std::string();
  return std::make_unique<CompleteRenewal>(
      renewal_id_arg(args, "id"),
      parse_issued(string_arg(args, "certificate", kMaxCertificatePem), chain));
}

std::unique_ptr<Command> parse_enroll_renewal(const nlohmann::json& args) {
  expect_members(args, {"url"}, {"id", "token", "certificate", "protocol"});
  EnrollRenewal::Target target;
  if (args.contains("id") == args.contains("token")) {
    throw ApiError(ErrorCode::bad_request,
                   "name the renewal by \"id\", or the token by \"token\" (and \"certificate\")");
  }
  if (args.contains("id")) {
    target.id = renewal_id_arg(args, "id");
  } else {
    target.serial = serial_arg(args, "token");
    target.certificate = args.contains("certificate") ? key_id_arg(args, "certificate") : "01";
  }
  const std::string protocol = args.contains("protocol") ? string_arg(args, "protocol", 16) : "est";
  if (protocol != "est" && protocol != "authorization") {
    throw ApiError(ErrorCode::bad_request, "\"protocol\" is est or authorization");
  }
  std::string why;
  std::optional<HttpUrl> server = parse_https_url(string_arg(args, "url", kMaxFetchUrlLength), why);
  if (!server) throw ApiError(ErrorCode::bad_request, "\"url\": " + why);
  return std::make_unique<EnrollRenewal>(
      std::move(target), std::move(*server),
      protocol == "est" ? EnrolmentProtocol::est : EnrolmentProtocol::authorization);
}

std::unique_ptr<Command> parse_cancel_renewal(const nlohmann::json& args) {
  expect_members(args, {"id"});
  return std::make_unique<CancelRenewal>(renewal_id_arg(args, "id"));
}

}  // namespace certkey::daemon
