// The command table: every command the daemon answers, on every transport. A name here is
// the operationId of its operation in daemon/openapi/certkey-v1.json (a unit test holds the
// two together).
#include <algorithm>
#include <array>

#include "handlers.hpp"

namespace certkey::daemon {
namespace {

constexpr std::array<CommandSpec, 16> kCommands = {{
    {"listTokens", Effect::read, Placement::snapshot, parse_list_tokens},
    {"watchEvents", Effect::read, Placement::network, parse_watch_events},
    {"beginRenewal", Effect::change, Placement::token, parse_begin_renewal, true},
    {"getRenewal", Effect::read, Placement::network, parse_get_renewal},
    {"listRenewals", Effect::read, Placement::network, parse_list_renewals},
    {"completeRenewal", Effect::change, Placement::token, parse_complete_renewal, true},
    {"enrollRenewal", Effect::change, Placement::token, parse_enroll_renewal},
    {"cancelRenewal", Effect::change, Placement::token, parse_cancel_renewal, true},
    {"changeCertificate", Effect::change, Placement::token, parse_change_certificate, true},
    {"revokeCertificate", Effect::change, Placement::token, parse_revoke_certificate, true},
    {"changePin", Effect::change, Placement::token, parse_change_pin, true},
    {"unblockPin", Effect::change, Placement::token, parse_unblock_pin},
    {"beginRemoteUnlock", Effect::change, Placement::token, parse_begin_remote_unlock},
    {"completeRemoteUnlock", Effect::change, Placement::token, parse_complete_remote_unlock},
    {"diagnose", Effect::read, Placement::background, parse_diagnose},
    {"queryCertificates", Effect::read, Placement::background, parse_query_certificates},
}};

}  // namespace

std::span<const CommandSpec> all_commands() { return kCommands; }

const CommandSpec* find_command(std::string_view name) {
  auto it = std::find_if(kCommands.begin(), kCommands.end(),
                         [&](const CommandSpec& c) { return c.name == name; });
  return it == kCommands.end() ? nullptr : &*it;
}

}  // namespace certkey::daemon
