// Who is at the other end of a local connection (DESIGN.md section 6, item 1). Unix sockets
// tell with SO_PEERCRED. For loopback TCP, the kernel's socket diagnostics
// (NETLINK_SOCK_DIAG, an exact lookup of the peer's socket by its four-tuple) give the uid
// that owns the peer socket, so another user's browser on the same machine is refused.
#pragma once
#include <sys/socket.h>
#include <sys/types.h>

#include <optional>

namespace certkey::daemon {

struct PeerCredentials {
  uid_t uid;
  pid_t pid;
};

std::optional<PeerCredentials> unix_peer(int fd);

// `local` and `remote` are the accepted socket's own address and its peer's (getsockname and
// getpeername). Nothing when the kernel does not know the peer socket.
std::optional<uid_t> loopback_peer_uid(const sockaddr_storage& local,
                                       const sockaddr_storage& remote);

}  // namespace certkey::daemon
