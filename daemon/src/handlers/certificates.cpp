// changeCertificate and revokeCertificate (docs/daemon.md, "Changing and revoking a
// certificate").
#include "../core/args.hpp"
#include "../state/audit_log.hpp"
#include "../workflows/certificate_ops.hpp"
#include "handlers.hpp"

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxCertificatePem = 8192;
constexpr std::size_t kMaxChainPem = 65536;

SlotChangeContext slot_context(CommandContext& context) {
  return {*context.work, context.services.slot_changes, context.services.renewals,
          context.services.trust};
}

class ChangeCertificate : public Command {
 public:
  ChangeCertificate(std::uint32_t serial, std::string slot, IssuedCertificate issued)
      : serial_(serial), slot_(std::move(slot)), issued_(std::move(issued)) {}
  std::optional<std::uint32_t> token(Services&, const Caller&) const override { return serial_; }
  CommandResult run(CommandContext& context) override {
    context.audit->reference = slot_;
    SlotChangeContext workflow = slot_context(context);
    change_certificate(workflow, slot_, issued_);
    return json_result({{"token", serial_}, {"certificate", slot_}});
  }

 private:
  std::uint32_t serial_;
  std::string slot_;
  IssuedCertificate issued_;
};

class RevokeCertificate : public Command {
 public:
  RevokeCertificate(std::uint32_t serial, std::string slot)
      : serial_(serial), slot_(std::move(slot)) {}
  std::optional<std::uint32_t> token(Services&, const Caller&) const override { return serial_; }
  CommandResult run(CommandContext& context) override {
    context.audit->reference = slot_;
    SlotChangeContext workflow = slot_context(context);
    revoke_certificate(workflow, slot_);
    return json_result({{"token", serial_}, {"certificate", slot_}});
  }

 private:
  std::uint32_t serial_;
  std::string slot_;
};

}  // namespace

std::unique_ptr<Command> parse_change_certificate(const nlohmann::json& args) {
  expect_members(args, {"token", "certificate", "pem"}, {"chain"});
  const std::string chain =
      args.contains("chain") ? string_arg(args, "chain", kMaxChainPem) : std::string();
  return std::make_unique<ChangeCertificate>(
      serial_arg(args, "token"), key_id_arg(args, "certificate"),
      parse_issued(string_arg(args, "pem", kMaxCertificatePem), chain));
}

std::unique_ptr<Command> parse_revoke_certificate(const nlohmann::json& args) {
  expect_members(args, {"token", "certificate"});
  return std::make_unique<RevokeCertificate>(serial_arg(args, "token"),
                                             key_id_arg(args, "certificate"));
}

}  // namespace certkey::daemon
