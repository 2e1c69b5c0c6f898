// The checks every request body goes through (strict: unknown or missing members and wrong
// types are bad_request, so a field such as a PIN cannot be smuggled in and ignored). Fuzzed
// by tests/fuzz/daemon_request_fuzzer.cpp.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace certkey::daemon {

// A JSON object with exactly these members (all required); throws ApiError(bad_request).
nlohmann::json parse_object(const std::string& body, const std::set<std::string>& members);
// A token serial: an unsigned 32-bit number.
std::uint32_t serial_of(const nlohmann::json& value);
std::string string_of(const nlohmann::json& value, const char* name);

}  // namespace certkey::daemon
