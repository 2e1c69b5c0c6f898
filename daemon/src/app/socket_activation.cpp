#include "socket_activation.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace certkey::daemon {
namespace {

constexpr int kFirstDescriptor = 3;   // SD_LISTEN_FDS_START
constexpr long kMostDescriptors = 8;  // certkeyd's units pass three

// A decimal number filling the whole text, or -1.
long whole_number(const char* text) {
  if (text == nullptr || *text == '\0') return -1;
  errno = 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  return errno == 0 && *end == '\0' && value >= 0 ? value : -1;
}

bool on_loopback(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    return (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
  }
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
  return IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr);
}

int option(int fd, int name) {
  int value = 0;
  socklen_t length = sizeof value;
  return ::getsockopt(fd, SOL_SOCKET, name, &value, &length) == 0 ? value : -1;
}

}  // namespace

InheritedSockets inherited_sockets() {
  const long pid = whole_number(std::getenv("LISTEN_PID"));
  const long count = whole_number(std::getenv("LISTEN_FDS"));
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  InheritedSockets sockets;
  if (pid != static_cast<long>(::getpid()) || count <= 0) return sockets;  // meant for another
  if (count > kMostDescriptors)
    throw std::runtime_error("systemd passed " + std::to_string(count) +
                             " sockets; certkeyd takes at most " +
                             std::to_string(kMostDescriptors));
  for (int fd = kFirstDescriptor; fd < kFirstDescriptor + count; ++fd) {
    const std::string which = "inherited socket " + std::to_string(fd);
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        option(fd, SO_TYPE) != SOCK_STREAM || option(fd, SO_ACCEPTCONN) != 1) {
      throw std::runtime_error(which + " is not a listening stream socket");
    }
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
    if (address.ss_family == AF_UNIX) {
      if (sockets.unix_socket) throw std::runtime_error(which + " is a second unix socket");
      sockets.unix_socket = fd;
    } else if ((address.ss_family == AF_INET || address.ss_family == AF_INET6) &&
               on_loopback(address)) {
      sockets.tcp.push_back(fd);
    } else {
      throw std::runtime_error(which +
                               " is not on a loopback address: certkeyd serves only this machine");
    }
  }
  return sockets;
}

}  // namespace certkey::daemon
