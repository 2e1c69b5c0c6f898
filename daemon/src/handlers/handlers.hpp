// Each command's argument parser: builds the command with validated arguments, or throws
// ApiError(bad_request). The table in command_table.cpp names them.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>

#include "../core/command.hpp"
#include "../tokens/token_registry.hpp"

namespace certkey::daemon {

std::unique_ptr<Command> parse_list_tokens(const nlohmann::json& args);
std::unique_ptr<Command> parse_watch_events(const nlohmann::json& args);
std::unique_ptr<Command> parse_begin_renewal(const nlohmann::json& args);
std::unique_ptr<Command> parse_get_renewal(const nlohmann::json& args);
std::unique_ptr<Command> parse_list_renewals(const nlohmann::json& args);
std::unique_ptr<Command> parse_complete_renewal(const nlohmann::json& args);
std::unique_ptr<Command> parse_enroll_renewal(const nlohmann::json& args);
std::unique_ptr<Command> parse_cancel_renewal(const nlohmann::json& args);
std::unique_ptr<Command> parse_change_certificate(const nlohmann::json& args);
std::unique_ptr<Command> parse_revoke_certificate(const nlohmann::json& args);
std::unique_ptr<Command> parse_change_pin(const nlohmann::json& args);
std::unique_ptr<Command> parse_unblock_pin(const nlohmann::json& args);
std::unique_ptr<Command> parse_begin_remote_unlock(const nlohmann::json& args);
std::unique_ptr<Command> parse_complete_remote_unlock(const nlohmann::json& args);
std::unique_ptr<Command> parse_diagnose(const nlohmann::json& args);
std::unique_ptr<Command> parse_query_certificates(const nlohmann::json& args);

// Whether the state database holds renewals or slot changes of the token: reconcile_command
// then has something to look at when it is inserted.
bool has_records(Services& services, std::uint32_t serial);

}  // namespace certkey::daemon
