// listTokens: the tokens plugged in, with their certificates, from the snapshot.
#include "../core/args.hpp"
#include "../views/json_views.hpp"
#include "handlers.hpp"

namespace certkey::daemon {
namespace {

class ListTokens : public Command {
 public:
  CommandResult run(CommandContext& context) override {
    return {200, token_list_text(context.services.tokens.snapshot())};
  }
};

}  // namespace

std::unique_ptr<Command> parse_list_tokens(const nlohmann::json& args) {
  expect_members(args, {});
  return std::make_unique<ListTokens>();
}

}  // namespace certkey::daemon
