// The daemon's own housekeeping on a token, when it is inserted or the daemon starts
// (docs/daemon.md, "Crash consistency"): interrupted renewals resume or roll back, an
// interrupted change or revocation is finished, and superseded keys whose retention ended are
// removed. Not in the command table: no transport can name it.
#include <cstdio>

#include "../config/config.hpp"
#include "../state/audit_log.hpp"
#include "../workflows/certificate_ops.hpp"
#include "../workflows/renewal.hpp"
#include "handlers.hpp"

namespace certkey::daemon {
namespace {

class ReconcileToken : public Command {
 public:
  explicit ReconcileToken(std::uint32_t serial) : serial_(serial) {}
  std::optional<std::uint32_t> token(Services&, const Caller&) const override { return serial_; }
  CommandResult run(CommandContext& context) override {
    Services& s = context.services;
    SlotChangeContext changes{*context.work, s.slot_changes, s.renewals, s.trust};
    std::vector<std::string> report = reconcile_slot_changes(changes);
    RenewalContext renewals{*context.work, s.renewals, s.trust, s.config.superseded_retention};
    for (std::string& line : reconcile_renewals(renewals)) report.push_back(std::move(line));
    for (const std::string& line : report)
      std::fprintf(stderr, "certkeyd: token %u: %s\n", serial_, line.c_str());
    context.audit->reference = std::to_string(report.size()) + " finished";
    return json_result({{"reconciled", report}});
  }

 private:
  std::uint32_t serial_;
};

}  // namespace

std::unique_ptr<Command> reconcile_command(std::uint32_t serial) {
  return std::make_unique<ReconcileToken>(serial);
}

bool has_records(Services& services, std::uint32_t serial) {
  return !services.slot_changes.of_token(serial).empty() ||
         !services.renewals.of_token(serial).empty();
}

}  // namespace certkey::daemon
