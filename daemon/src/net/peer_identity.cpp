#include "peer_identity.hpp"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace certkey::daemon {
namespace {

constexpr int kReplyTimeoutMs = 1000;  // the kernel answers at once; this only bounds a failure

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// The peer's socket is the one whose source is `remote` and whose destination is `local`.
bool fill_request(inet_diag_req_v2& req, const sockaddr_storage& local,
                  const sockaddr_storage& remote) {
  req.sdiag_family = static_cast<std::uint8_t>(remote.ss_family);
  req.sdiag_protocol = IPPROTO_TCP;
  req.idiag_states = ~0u;
  req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  if (remote.ss_family == AF_INET && local.ss_family == AF_INET) {
    const auto& r = reinterpret_cast<const sockaddr_in&>(remote);
    const auto& l = reinterpret_cast<const sockaddr_in&>(local);
    req.id.idiag_sport = r.sin_port;
    req.id.idiag_dport = l.sin_port;
    std::memcpy(req.id.idiag_src, &r.sin_addr, sizeof r.sin_addr);
    std::memcpy(req.id.idiag_dst, &l.sin_addr, sizeof l.sin_addr);
    return true;
  }
  if (remote.ss_family == AF_INET6 && local.ss_family == AF_INET6) {
    const auto& r = reinterpret_cast<const sockaddr_in6&>(remote);
    const auto& l = reinterpret_cast<const sockaddr_in6&>(local);
    req.id.idiag_sport = r.sin6_port;
    req.id.idiag_dport = l.sin6_port;
    std::memcpy(req.id.idiag_src, &r.sin6_addr, sizeof r.sin6_addr);
    std::memcpy(req.id.idiag_dst, &l.sin6_addr, sizeof l.sin6_addr);
    return true;
  }
  return false;
}

}  // namespace

std::optional<PeerCredentials> unix_peer(int fd) {
  ucred credentials{};
  socklen_t length = sizeof credentials;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return std::nullopt;
  return PeerCredentials{credentials.uid, credentials.pid};
}

std::optional<uid_t> loopback_peer_uid(const sockaddr_storage& local,
                                       const sockaddr_storage& remote) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } message{};
  if (!fill_request(message.request, local, remote)) return std::nullopt;
  message.header.nlmsg_len = sizeof message;
  message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  message.header.nlmsg_flags = NLM_F_REQUEST;
  Fd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (netlink.get() < 0) return std::nullopt;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(netlink.get(), &message, sizeof message, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) != static_cast<ssize_t>(sizeof message)) {
    return std::nullopt;
  }
  pollfd ready{netlink.get(), POLLIN, 0};
  if (::poll(&ready, 1, kReplyTimeoutMs) != 1) return std::nullopt;
  alignas(nlmsghdr) char buffer[8192];
  const ssize_t n = ::recv(netlink.get(), buffer, sizeof buffer, 0);
  if (n < static_cast<ssize_t>(sizeof(nlmsghdr))) return std::nullopt;
  const auto* reply = reinterpret_cast<const nlmsghdr*>(buffer);
  if (!NLMSG_OK(reply, static_cast<unsigned>(n)) || reply->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
      reply->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) {
    return std::nullopt;  // NLMSG_ERROR: no such socket
  }
  inet_diag_msg diag{};  // NLMSG_DATA is a C cast; the payload follows the aligned header
  std::memcpy(&diag, buffer + NLMSG_HDRLEN, sizeof diag);
  return static_cast<uid_t>(diag.idiag_uid);
}

}  // namespace certkey::daemon
