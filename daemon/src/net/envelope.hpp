// The message envelope of the WebSocket and the unix socket (and so of native messaging):
// {"id", "command", "args"} in, {"id", "status", "result"} or {"id", "status", "error"} out,
// {"event", "data"} for events. On the unix socket a message may also carry the origin it
// is relayed for and a terminal for the PIN prompt (docs/daemon.md). Pure functions, fuzzed
// with the framing (tests/fuzz/native_frame_fuzzer.cpp).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "../core/command.hpp"
#include "../core/error_code.hpp"

namespace certkey::daemon {

enum class EnvelopeSource { websocket, unix_socket };

struct Envelope {
  nlohmann::json id;  // echoed: a string (at most 128 bytes), an integer, or null
  std::string command;
  nlohmann::json args = nlohmann::json::object();
  std::optional<std::string> origin;  // unix socket only: the page a relay speaks for
  std::string tty_name, tty_type;     // unix socket only
};

class EnvelopeError : public ApiError {
 public:
  EnvelopeError(nlohmann::json id, ErrorCode code, const std::string& detail)
      : ApiError(code, detail), id_(std::move(id)) {}
  const nlohmann::json& id() const { return id_; }

 private:
  nlohmann::json id_;  // null when it could not be read
};

// Throws EnvelopeError(bad_request) for anything but the documented shape.
Envelope parse_envelope(std::string_view text, EnvelopeSource source);

// The first message a native-messaging relay sends: {"relay": {"kind": "native-messaging",
// "extension": "..."}}. Nothing when `text` is not one.
std::optional<std::string> parse_relay_hello(std::string_view text);

std::string reply_envelope(const nlohmann::json& id, const CommandReply& reply);
std::string event_envelope(std::string_view event, const std::string& data_json);

}  // namespace certkey::daemon
