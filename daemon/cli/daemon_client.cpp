#include "daemon_client.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ipc/stream.hpp"

namespace certkey::cli {
namespace {

// The terminal the user types on: GPG_TTY, else standard input's.
std::optional<std::string> own_terminal() {
  if (const char* tty = std::getenv("GPG_TTY"); tty && *tty) return std::string(tty);
  char name[256];
  if (!::isatty(STDIN_FILENO) || ::ttyname_r(STDIN_FILENO, name, sizeof name) != 0)
    return std::nullopt;
  return std::string(name);
}

}  // namespace

DaemonClient::DaemonClient(const std::string& socket_path) : fd_(ipc::connect_unix(socket_path)) {
  if (fd_ < 0) throw NotRunning(socket_path + ": " + std::strerror(errno));
}

DaemonClient::~DaemonClient() {
  if (fd_ >= 0) ::close(fd_);
}

nlohmann::json DaemonClient::call(const std::string& command, const nlohmann::json& args) {
  return send({{"command", command}, {"args", args}});
}

nlohmann::json DaemonClient::call_with_terminal(const std::string& command,
                                                const nlohmann::json& args) {
  nlohmann::json message = {{"command", command}, {"args", args}};
  if (const std::optional<std::string> tty = own_terminal()) {
    message["tty"] = *tty;
    if (const char* term = std::getenv("TERM"); term && *term) message["term"] = term;
  }
  return send(std::move(message));
}

nlohmann::json DaemonClient::send(nlohmann::json message) {
  const int id = next_id_++;
  message["id"] = id;
  if (!ipc::write_all(fd_, ipc::encode_frame(message.dump())))
    throw ProtocolError("the connection to certkeyd broke");
  while (std::optional<nlohmann::json> reply = next_message()) {
    if (reply->contains("event")) continue;  // a subscription's event, not our answer
    if (reply->value("id", 0) != id || !(*reply)["status"].is_number_integer()) {
      throw ProtocolError("certkeyd answered something else: " + reply->dump().substr(0, 200));
    }
    return *reply;
  }
  throw ProtocolError("certkeyd closed the connection without answering");
}

std::optional<nlohmann::json> DaemonClient::next_event() {
  while (std::optional<nlohmann::json> message = next_message()) {
    if (message->contains("event")) return message;
  }
  return std::nullopt;
}

std::optional<nlohmann::json> DaemonClient::next_message() {
  const std::optional<std::string> frame = ipc::read_frame(fd_, decoder_);
  if (!frame) {
    if (decoder_.broken()) throw ProtocolError("certkeyd sent a message over the size limit");
    return std::nullopt;
  }
  nlohmann::json message = nlohmann::json::parse(*frame, nullptr, false);
  if (!message.is_object())
    throw ProtocolError("certkeyd sent a message that is not a JSON object");
  return message;
}

}  // namespace certkey::cli
