#include "daemon_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace certkey::cli {
namespace {

// The terminal the user types on: GPG_TTY, else standard input's.
std::optional<std::string> own_terminal() {
  if (const char* tty = std::getenv("GPG_TTY"); tty && *tty) return std::string(tty);
  char name[256];
  if (!::isatty(STDIN_FILENO) || ::ttyname_r(STDIN_FILENO, name, sizeof name) != 0) return std::nullopt;
  return std::string(name);
}

void write_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw ProtocolError("the connection to certkeyd broke");
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace

DaemonClient::DaemonClient(const std::string& socket_path) {
  sockaddr_un address{};
  if (socket_path.size() >= sizeof address.sun_path) throw NotRunning("the socket path is too long: " + socket_path);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw NotRunning(std::strerror(errno));
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size());
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw NotRunning(socket_path + ": " + std::strerror(error));
  }
}

DaemonClient::~DaemonClient() {
  if (fd_ >= 0) ::close(fd_);
}

nlohmann::json DaemonClient::call(const std::string& command, const nlohmann::json& args) {
  return send({{"command", command}, {"args", args}});
}

nlohmann::json DaemonClient::call_with_terminal(const std::string& command, const nlohmann::json& args) {
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
  write_all(fd_, ipc::encode_frame(message.dump()));
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
  for (;;) {
    if (std::optional<std::string> frame = decoder_.next()) {
      nlohmann::json message = nlohmann::json::parse(*frame, nullptr, false);
      if (!message.is_object()) throw ProtocolError("certkeyd sent a message that is not a JSON object");
      return message;
    }
    if (decoder_.broken()) throw ProtocolError("certkeyd sent a message over the size limit");
    char chunk[16384];
    const ssize_t n = ::read(fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    if (!decoder_.feed(chunk, static_cast<std::size_t>(n))) throw ProtocolError("certkeyd sent a message over the size limit");
  }
}

}  // namespace certkey::cli
