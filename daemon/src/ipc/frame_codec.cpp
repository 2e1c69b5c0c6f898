#include "frame_codec.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace certkey::ipc {

bool FrameDecoder::feed(const char* data, std::size_t size) {
  if (broken_) return false;
  buffer_.append(data, size);
  // Check the announced length as soon as it is known, before its bytes are buffered.
  if (buffer_.size() >= 4) {
    std::uint32_t length = 0;
    std::memcpy(&length, buffer_.data(), 4);
    if (length > max_frame_) broken_ = true;
  }
  return !broken_;
}

std::optional<std::string> FrameDecoder::next() {
  if (broken_ || buffer_.size() < 4) return std::nullopt;
  std::uint32_t length = 0;
  std::memcpy(&length, buffer_.data(), 4);
  if (length > max_frame_) {
    broken_ = true;
    return std::nullopt;
  }
  if (buffer_.size() < 4 + static_cast<std::size_t>(length)) return std::nullopt;
  std::string payload = buffer_.substr(4, length);
  buffer_.erase(0, 4 + static_cast<std::size_t>(length));
  // The next frame's length is checked as soon as it is complete.
  if (buffer_.size() >= 4) {
    std::uint32_t following = 0;
    std::memcpy(&following, buffer_.data(), 4);
    if (following > max_frame_) broken_ = true;
  }
  return payload;
}

std::string encode_frame(std::string_view payload) {
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::string frame(4, '\0');
  std::memcpy(frame.data(), &length, 4);
  frame.append(payload);
  return frame;
}

std::string default_socket_path() {
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::string(runtime) + "/certkey/certkeyd.sock";
  }
  return "/run/user/" + std::to_string(::getuid()) + "/certkey/certkeyd.sock";
}

}  // namespace certkey::ipc
