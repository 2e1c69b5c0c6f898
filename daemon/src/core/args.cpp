#include "args.hpp"

#include <algorithm>

#include "error_code.hpp"

namespace certkey::daemon {
namespace {

using nlohmann::json;

bool lower_hex(const std::string& text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

[[noreturn]] void bad(const std::string& what) { throw ApiError(ErrorCode::bad_request, what); }

}  // namespace

void expect_members(const json& args, std::initializer_list<std::string_view> required,
                    std::initializer_list<std::string_view> optional) {
  if (!args.is_object()) bad("the arguments are not a JSON object");
  for (const auto& member : args.items()) {
    const std::string& key =
        member.key();  // not a structured binding: clang 14 cannot capture those
    const auto known = [&](std::string_view k) { return k == key; };
    if (std::none_of(required.begin(), required.end(), known) &&
        std::none_of(optional.begin(), optional.end(), known)) {
      bad("unknown member \"" + key.substr(0, 64) + "\"");
    }
  }
  for (std::string_view key : required) {
    if (!args.contains(key)) bad("missing member \"" + std::string(key) + "\"");
  }
}

std::uint32_t serial_arg(const json& args, const char* name) {
  const json& value = args.at(name);
  if (!value.is_number_unsigned() || value.get<std::uint64_t>() > 0xFFFFFFFFu) {
    bad(std::string("\"") + name + "\" is a token serial number");
  }
  return value.get<std::uint32_t>();
}

std::string string_arg(const json& args, const char* name, std::size_t max_bytes) {
  const json& value = args.at(name);
  if (!value.is_string()) bad(std::string("\"") + name + "\" is a string");
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() > max_bytes)
    bad(std::string("\"") + name + "\" is longer than " + std::to_string(max_bytes) + " bytes");
  return text;
}

std::string key_id_arg(const json& args, const char* name) {
  std::string id = string_arg(args, name, 2);
  if (id.size() != 2 || !lower_hex(id))
    bad(std::string("\"") + name + "\" is two lower-case hex digits");
  return id;
}

std::string renewal_id_arg(const json& args, const char* name) {
  std::string id = string_arg(args, name, 32);
  if (id.size() != 32 || !lower_hex(id))
    bad(std::string("\"") + name + "\" is a renewal id (32 hex digits)");
  return id;
}

}  // namespace certkey::daemon
