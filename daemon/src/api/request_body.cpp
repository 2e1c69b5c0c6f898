#include "request_body.hpp"

#include "error_code.hpp"

namespace certkey::daemon {

using nlohmann::json;

// A JSON object with exactly these members (all required), or bad_request.
json parse_object(const std::string& body, const std::set<std::string>& members) {
  json value = json::parse(body, nullptr, false);
  if (value.is_discarded() || !value.is_object()) throw ApiError(ErrorCode::bad_request, "the body is not a JSON object");
  for (const auto& [key, _] : value.items()) {
    if (!members.count(key)) throw ApiError(ErrorCode::bad_request, "unknown member \"" + key + "\"");
  }
  for (const std::string& key : members) {
    if (!value.contains(key)) throw ApiError(ErrorCode::bad_request, "missing member \"" + key + "\"");
  }
  return value;
}

std::uint32_t serial_of(const json& value) {
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() > 0xFFFFFFFFu) {
    throw ApiError(ErrorCode::bad_request, "\"token\" is a token serial number");
  }
  return value.get<std::uint32_t>();
}

std::string string_of(const json& value, const char* name) {
  if (!value.is_string()) throw ApiError(ErrorCode::bad_request, std::string("\"") + name + "\" is a string");
  return value.get<std::string>();
}

}  // namespace certkey::daemon
