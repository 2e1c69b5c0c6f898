#include "relay.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "ipc/frame_codec.hpp"
#include "ipc/stream.hpp"

namespace certkey::native_host {
namespace {

// The relay's own errors, in the daemon's error shape, so the extension reads them alike.
std::string error_frame(const char* code, const char* message, const char* message_zh,
                        const char* hint) {
  const bool too_large = std::strcmp(code, "payload_too_large") == 0;
  const nlohmann::json body = {
      {"id", nullptr},
      {"status", too_large ? 413 : 503},
      {"error",
       {{"code", code}, {"message", message}, {"message_zh", message_zh}, {"hint", hint}}}};
  return ipc::encode_frame(body.dump());
}

// Moves what `from` has to `to`, frame by frame. False when `from` closed or broke a bound.
bool pump(int from, ipc::FrameDecoder& decoder, int to, bool& too_large) {
  char chunk[16384];
  const ssize_t n = ::read(from, chunk, sizeof chunk);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false;
  decoder.feed(chunk, static_cast<std::size_t>(n));
  while (std::optional<std::string> frame = decoder.next()) {
    if (!ipc::write_all(to, ipc::encode_frame(*frame))) return false;
  }
  too_large = decoder.broken();
  return !too_large;
}

}  // namespace

std::string extension_of(int argc, char** argv) {
  if (argc >= 2 && std::strncmp(argv[1], "chrome-extension://", 19) == 0) return argv[1];
  if (argc >= 3) return argv[2];
  return {};
}

int relay(int browser_in, int browser_out, const std::string& socket_path,
          const std::string& extension) {
  const int daemon = ipc::connect_unix(socket_path);
  if (daemon < 0) {
    ipc::write_all(
        browser_out,
        error_frame("daemon_unavailable", "The certkey service is not running.",
                    "certkey 服务未运行。", "Start it with: systemctl --user start certkeyd"));
    return 1;
  }
  const nlohmann::json hello = {
      {"relay", {{"kind", "native-messaging"}, {"extension", extension}}}};
  if (!ipc::write_all(daemon, ipc::encode_frame(hello.dump(
                                  -1, ' ', false, nlohmann::json::error_handler_t::replace)))) {
    return 1;
  }
  ipc::FrameDecoder from_browser(ipc::kMaxCommandFrame), from_daemon(ipc::kMaxReplyFrame);
  pollfd fds[2] = {{browser_in, POLLIN, 0}, {daemon, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    bool too_large = false;
    if (fds[0].revents && !pump(browser_in, from_browser, daemon, too_large)) {
      if (too_large) {
        ipc::write_all(browser_out,
                       error_frame("payload_too_large", "The message is too large.", "消息过大。",
                                   "Messages to certkey are a few kilobytes."));
        return 1;
      }
      return 0;  // the browser closed the port
    }
    if (fds[1].revents && !pump(daemon, from_daemon, browser_out, too_large)) {
      ipc::write_all(
          browser_out,
          error_frame(too_large ? "payload_too_large" : "daemon_unavailable",
                      too_large ? "The answer is too large." : "The certkey service stopped.",
                      too_large ? "应答过大。" : "certkey 服务已停止。",
                      "Try again; the service starts again when needed."));
      return 1;
    }
  }
  return 1;
}

}  // namespace certkey::native_host
