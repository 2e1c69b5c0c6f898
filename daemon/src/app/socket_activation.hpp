// The listening sockets a socket-activated certkeyd gets from systemd (sd_listen_fds(3)'s
// protocol: LISTEN_PID and LISTEN_FDS, the descriptors from 3 on; docs/daemon.md, "Socket
// activation"). The variables are removed once read, so that no program the daemon starts
// takes the sockets for its own.
#pragma once
#include <optional>
#include <vector>

namespace certkey::daemon {

struct InheritedSockets {
  std::optional<int> unix_socket;  // the unix socket's listening descriptor
  std::vector<int> tcp;            // listening TCP sockets on a loopback address
  bool any() const { return unix_socket || !tcp.empty(); }
};

// None when the daemon was not started that way. Throws std::runtime_error for a descriptor
// that is not a listening stream socket certkeyd may serve: a second unix socket, or TCP
// on an address other than 127.0.0.0/8 and ::1.
InheritedSockets inherited_sockets();

}  // namespace certkey::daemon
