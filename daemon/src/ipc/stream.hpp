// Blocking I/O on certkeyd's unix socket and on the browser's pipes, for its clients: the
// CLI, the native-messaging relay and the test tools.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "frame_codec.hpp"

namespace certkey::ipc {

// A stream socket connected to `path`, or -1 with errno set (ENAMETOOLONG for a path that
// does not fit a socket address).
int connect_unix(const std::string& path);

// Writes all of `bytes`, again after a signal; false once the peer is gone.
bool write_all(int fd, std::string_view bytes);

// The next frame, reading as needed. Nothing at the end of the stream, on a read error, or
// once the decoder is broken (a frame over its limit: decoder.broken() says so).
std::optional<std::string> read_frame(int fd, FrameDecoder& decoder);

}  // namespace certkey::ipc
