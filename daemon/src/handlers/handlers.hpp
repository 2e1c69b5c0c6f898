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
std::unique_ptr<Command> parse_complete_renewal(const nlohmann::json& args);

}  // namespace certkey::daemon
