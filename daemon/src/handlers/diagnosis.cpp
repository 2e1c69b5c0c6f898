// diagnose and queryCertificates (docs/daemon.md, "Diagnosis" and "Certificate status"). Both
// run on the background worker: they wait on pcscd, the tokens' workers, and OCSP
// responders or CRL servers.
#include "../core/args.hpp"
#include "../diagnosis/facts.hpp"
#include "../tokens/token_registry.hpp"
#include "../views/json_views.hpp"
#include "../views/text.hpp"
#include "handlers.hpp"

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxDetail = 512;

class Diagnose : public Command {
 public:
  CommandResult run(CommandContext& context) override {
    return json_result({{"findings", findings_json(diagnose(gather_facts(context.services)))}});
  }
};

class QueryCertificates : public Command {
 public:
  CommandResult run(CommandContext& context) override {
    const std::vector<TokenState> tokens = context.services.tokens.snapshot()->tokens;
    nlohmann::json list = nlohmann::json::array();
    for (const CertificateFacts& c : certificate_facts(context.services, tokens)) {
      nlohmann::json item = {{"token", c.serial},
                             {"id", c.id},
                             {"subject", display_text(c.subject, kMaxName)},
                             {"not_before", c.not_before},
                             {"not_after", c.not_after},
                             {"chain", c.chain},
                             {"revocation", c.revocation}};
      if (!c.detail.empty()) item["detail"] = display_text(c.detail, kMaxDetail);
      list.push_back(std::move(item));
    }
    return json_result({{"certificates", list}});
  }
};

}  // namespace

std::unique_ptr<Command> parse_diagnose(const nlohmann::json& args) {
  expect_members(args, {});
  return std::make_unique<Diagnose>();
}

std::unique_ptr<Command> parse_query_certificates(const nlohmann::json& args) {
  expect_members(args, {});
  return std::make_unique<QueryCertificates>();
}

}  // namespace certkey::daemon
