// The framing of certkeyd's unix socket, which is also the browser's native-messaging
// framing: each message is a 32-bit length in native byte order, then that many bytes of
// UTF-8 JSON. The native-messaging relay (certkey-native-host) therefore passes messages
// through unchanged, only checking their bounds (docs/daemon.md, "Unix socket and native
// messaging").
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace certkey::ipc {

// Towards the daemon (a command with a certificate chain fits well inside), and towards the
// browser (Chrome's own limit for messages from a native host is 1 MiB).
inline constexpr std::size_t kMaxCommandFrame = 64 * 1024;
inline constexpr std::size_t kMaxReplyFrame = 1024 * 1024;

class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame) : max_frame_(max_frame) {}
  // Takes more bytes of the stream. False once a frame announces more than the limit: the
  // stream cannot be resynchronised and must be closed.
  bool feed(const char* data, std::size_t size);
  // The next complete frame's payload, if one has arrived.
  std::optional<std::string> next();
  // Bytes of an incomplete frame are waiting.
  bool partial() const { return !buffer_.empty(); }
  // A frame announced more than the limit (seen by feed() or next()): close the stream.
  bool broken() const { return broken_; }

 private:
  std::size_t max_frame_;
  std::string buffer_;
  bool broken_ = false;
};

// The length prefix and the payload; the payload must fit a 32-bit length.
std::string encode_frame(std::string_view payload);

// $XDG_RUNTIME_DIR/certkey/certkeyd.sock, or /run/user/UID/certkey/certkeyd.sock.
std::string default_socket_path();

}  // namespace certkey::ipc
