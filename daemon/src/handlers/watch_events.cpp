// watchEvents: from now on the caller's connection receives the events (a WebSocket on
// GET /v1/events subscribes by opening; the unix socket sends this command).
#include "../core/args.hpp"
#include "handlers.hpp"

namespace certkey::daemon {
namespace {

class WatchEvents : public Command {
 public:
  CommandResult run(CommandContext&) override {
    CommandResult result = json_result({{"events",
                                         {"tokenInserted", "tokenRemoved", "tokenChanged",
                                          "tokenReconciled", "certificateExpiring"}}});
    result.subscribe = true;
    return result;
  }
};

}  // namespace

std::unique_ptr<Command> parse_watch_events(const nlohmann::json& args) {
  expect_members(args, {});
  return std::make_unique<WatchEvents>();
}

}  // namespace certkey::daemon
