// What both listeners do with an accepted socket before its session starts.
#pragma once
#include <fcntl.h>

#include <chrono>

namespace certkey::daemon {

// Out of descriptors, say: accept again a little later rather than spin.
inline constexpr std::chrono::milliseconds kAcceptRetry{100};

// Programs the daemon starts (the PIN prompt) must not inherit its sockets.
inline void close_on_exec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

}  // namespace certkey::daemon
