// Strict argument checks shared by every command (STYLE rule 13: handlers validate at
// construction). Unknown or missing members and wrong types are bad_request, so a field such
// as a PIN cannot be smuggled in and ignored.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace certkey::daemon {

// `args` is an object with all of `required`, and nothing but those and `optional`.
void expect_members(const nlohmann::json& args, std::initializer_list<std::string_view> required,
                    std::initializer_list<std::string_view> optional = {});
// A token serial: an unsigned 32-bit number.
std::uint32_t serial_arg(const nlohmann::json& args, const char* name);
// A string of at most `max_bytes`.
std::string string_arg(const nlohmann::json& args, const char* name, std::size_t max_bytes);
// A key or certificate id: two lower-case hex digits (PKCS#11 CKA_ID, docs/daemon.md).
std::string key_id_arg(const nlohmann::json& args, const char* name);
// A renewal id: 32 lower-case hex digits.
std::string renewal_id_arg(const nlohmann::json& args, const char* name);

}  // namespace certkey::daemon
