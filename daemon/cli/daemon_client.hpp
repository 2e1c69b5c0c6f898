// The CLI's connection to certkeyd's unix socket (docs/daemon.md, "Unix socket and native
// messaging"): length-prefixed JSON envelopes, one command at a time, and the events of a
// subscription. The CLI sends no origin: the daemon sees "a program on this computer".
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "ipc/frame_codec.hpp"

namespace certkey::cli {

// Nothing answers on the socket: certkeyd is not running (or runs for another user).
struct NotRunning : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The connection broke, or the daemon sent what no daemon sends.
struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class DaemonClient {
 public:
  explicit DaemonClient(const std::string& socket_path);
  ~DaemonClient();
  DaemonClient(const DaemonClient&) = delete;
  DaemonClient& operator=(const DaemonClient&) = delete;

  // Sends the command and returns its reply envelope ({"id", "status", "result" | "error"}).
  nlohmann::json call(const std::string& command,
                      const nlohmann::json& args = nlohmann::json::object());
  // The same for a command whose PIN prompt may appear on the caller's terminal (standard
  // input's, or GPG_TTY), as GnuPG's pinentry does; the daemon checks it is the caller's.
  nlohmann::json call_with_terminal(const std::string& command, const nlohmann::json& args);
  // The next event of a subscription (after call("watchEvents")); nothing once the daemon
  // closed the connection.
  std::optional<nlohmann::json> next_event();

 private:
  std::optional<nlohmann::json> next_message();
  nlohmann::json send(nlohmann::json message);

  int fd_;
  int next_id_ = 1;
  ipc::FrameDecoder decoder_{ipc::kMaxReplyFrame};
};

}  // namespace certkey::cli
