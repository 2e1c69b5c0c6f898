// The command table: every command the daemon answers, on every transport. A name here is
// the operationId of its operation in daemon/openapi/certkey-v1.json (a unit test holds the
// two together).
#include <algorithm>
#include <array>

#include "handlers.hpp"

namespace certkey::daemon {
namespace {

constexpr std::array<CommandSpec, 5> kCommands = {{
    {"listTokens", Effect::read, Placement::snapshot, parse_list_tokens},
    {"watchEvents", Effect::read, Placement::network, parse_watch_events},
    {"beginRenewal", Effect::change, Placement::token, parse_begin_renewal},
    {"getRenewal", Effect::read, Placement::network, parse_get_renewal},
    {"completeRenewal", Effect::change, Placement::token, parse_complete_renewal},
}};

}  // namespace

std::span<const CommandSpec> all_commands() { return kCommands; }

const CommandSpec* find_command(std::string_view name) {
  auto it = std::find_if(kCommands.begin(), kCommands.end(), [&](const CommandSpec& c) { return c.name == name; });
  return it == kCommands.end() ? nullptr : &*it;
}

}  // namespace certkey::daemon
