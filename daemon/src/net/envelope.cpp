#include "envelope.hpp"

#include "../core/origin.hpp"
#include "../views/text.hpp"

namespace certkey::daemon {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxId = 128;
constexpr std::size_t kMaxCommandName = 64;
constexpr std::size_t kMaxTty = 128;
constexpr std::size_t kMaxExtension = 256;

json readable_id(const json& message) {
  if (!message.is_object() || !message.contains("id")) return nullptr;
  const json& id = message["id"];
  if (id.is_number_integer() ||
      (id.is_string() && id.get_ref<const std::string&>().size() <= kMaxId))
    return id;
  return nullptr;
}

std::string string_member(const json& message, const json& id, const char* name, std::size_t max) {
  const json& value = message[name];
  if (!value.is_string() || value.get_ref<const std::string&>().size() > max) {
    throw EnvelopeError(
        id, ErrorCode::bad_request,
        std::string("\"") + name + "\" is a string of at most " + std::to_string(max) + " bytes");
  }
  return value.get<std::string>();
}

}  // namespace

Envelope parse_envelope(std::string_view text, EnvelopeSource source) {
  json message = json::parse(text, nullptr, false);
  if (message.is_discarded() || !message.is_object()) {
    throw EnvelopeError(nullptr, ErrorCode::bad_request, "the message is not a JSON object");
  }
  Envelope e;
  e.id = readable_id(message);
  if (message.contains("id") && e.id.is_null() && !message["id"].is_null()) {
    throw EnvelopeError(nullptr, ErrorCode::bad_request,
                        "\"id\" is an integer or a string of at most 128 bytes");
  }
  for (const auto& [key, value] : message.items()) {
    const bool common = key == "id" || key == "command" || key == "args";
    const bool local = key == "origin" || key == "tty" || key == "term";
    if (!common && !(local && source == EnvelopeSource::unix_socket)) {
      throw EnvelopeError(e.id, ErrorCode::bad_request,
                          "unknown member \"" + key.substr(0, 64) + "\"");
    }
  }
  if (!message.contains("command"))
    throw EnvelopeError(e.id, ErrorCode::bad_request, "missing member \"command\"");
  e.command = string_member(message, e.id, "command", kMaxCommandName);
  if (message.contains("args")) {
    if (!message["args"].is_object())
      throw EnvelopeError(e.id, ErrorCode::bad_request, "\"args\" is an object");
    e.args = std::move(message["args"]);
  }
  if (message.contains("origin"))
    e.origin = string_member(message, e.id, "origin", kMaxOriginLength);
  if (message.contains("tty")) e.tty_name = string_member(message, e.id, "tty", kMaxTty);
  if (message.contains("term")) e.tty_type = string_member(message, e.id, "term", kMaxTty);
  return e;
}

std::optional<std::string> parse_relay_hello(std::string_view text) {
  const json message = json::parse(text, nullptr, false);
  if (!message.is_object() || message.size() != 1 || !message.contains("relay"))
    return std::nullopt;
  const json& relay = message["relay"];
  if (!relay.is_object() || relay.value("kind", json()) != "native-messaging") return std::nullopt;
  const json extension = relay.value("extension", json(""));
  if (!extension.is_string()) return std::nullopt;
  return display_text(extension.get<std::string>(), kMaxExtension);
}

std::string reply_envelope(const json& id, const CommandReply& reply) {
  std::string out = "{\"id\":" + json_text(id) + ",\"status\":" + std::to_string(reply.status);
  const std::string body = reply.body && !reply.body->empty() ? *reply.body : std::string("{}");
  if (reply.error && body.size() > 2) {
    out += "," + body.substr(1);  // {"error": {...}} joins the envelope as its "error" member
  } else {
    out += ",\"result\":" + body + "}";
  }
  return out;
}

std::string event_envelope(std::string_view event, const std::string& data_json) {
  return "{\"event\":\"" + std::string(event) + "\",\"data\":" + data_json + "}";
}

}  // namespace certkey::daemon
