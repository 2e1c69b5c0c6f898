// Who is at the other end of a local connection (daemon/src/net/peer_identity.*, DESIGN.md
// section 6, security model item 1): for loopback TCP the kernel's socket diagnostics name the
// owner of the peer socket; for unix sockets SO_PEERCRED names the peer. Real sockets, made
// and connected here.
#include "net/peer_identity.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace certkey::daemon {
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

sockaddr* as_sockaddr(sockaddr_storage& address) { return reinterpret_cast<sockaddr*>(&address); }

// A loopback TCP connection: the listening socket, the client's and the accepted one.
struct LoopbackConnection {
  Fd listener, client, accepted;
  sockaddr_storage local{}, remote{};  // of the accepted socket
};

// False when the machine has no such loopback address (no IPv6, say).
bool connect_loopback(int family, LoopbackConnection& c) {
  sockaddr_storage address{};
  socklen_t length = 0;
  if (family == AF_INET) {
    auto& in = reinterpret_cast<sockaddr_in&>(address);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof in;
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(address);
    in6.sin6_family = AF_INET6;
    in6.sin6_addr = in6addr_loopback;
    length = sizeof in6;
  }
  c.listener.reset(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (c.listener.get() < 0 || ::bind(c.listener.get(), as_sockaddr(address), length) != 0)
    return false;
  if (::listen(c.listener.get(), 1) != 0) return false;
  socklen_t bound_length = sizeof address;
  if (::getsockname(c.listener.get(), as_sockaddr(address), &bound_length) != 0) return false;
  c.client.reset(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(c.client.get(), as_sockaddr(address), bound_length) != 0) return false;
  c.accepted.reset(::accept4(c.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  socklen_t local_length = sizeof c.local, remote_length = sizeof c.remote;
  return c.accepted.get() >= 0 &&
         ::getsockname(c.accepted.get(), as_sockaddr(c.local), &local_length) == 0 &&
         ::getpeername(c.accepted.get(), as_sockaddr(c.remote), &remote_length) == 0;
}

TEST(PeerIdentity, LoopbackIpv4Peer_IsOwnedByThisUser) {
  LoopbackConnection c;
  ASSERT_TRUE(connect_loopback(AF_INET, c)) << std::strerror(errno);
  EXPECT_EQ(loopback_peer_uid(c.local, c.remote), ::geteuid());
}

TEST(PeerIdentity, LoopbackIpv6Peer_IsOwnedByThisUser) {
  LoopbackConnection c;
  if (!connect_loopback(AF_INET6, c)) GTEST_SKIP() << "no [::1]: " << std::strerror(errno);
  EXPECT_EQ(loopback_peer_uid(c.local, c.remote), ::geteuid());
}

TEST(PeerIdentity, AddressesOfDifferentFamilies_NameNoPeer) {
  LoopbackConnection c;
  ASSERT_TRUE(connect_loopback(AF_INET, c));
  sockaddr_storage v6{};
  v6.ss_family = AF_INET6;
  EXPECT_FALSE(loopback_peer_uid(c.local, v6));
}

TEST(PeerIdentity, UnixSocketPeer_IsThisProcess) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  Fd a(fds[0]), b(fds[1]);
  const std::optional<PeerCredentials> peer = unix_peer(a.get());
  ASSERT_TRUE(peer);
  EXPECT_EQ(peer->uid, ::geteuid());
  EXPECT_EQ(peer->pid, ::getpid());
}

TEST(PeerIdentity, NotASocket_NamesNoPeer) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  Fd a(fds[0]), b(fds[1]);
  EXPECT_FALSE(unix_peer(a.get()));
}

}  // namespace
}  // namespace certkey::daemon
