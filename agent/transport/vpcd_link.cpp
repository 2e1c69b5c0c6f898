#include "vpcd_link.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace certkey::agent::transport {
namespace {

bool read_exact(int fd, std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

bool write_exact(int fd, const std::uint8_t* p, std::size_t n) {
  while (n > 0) {
    ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}

}  // namespace

bool VpcdLink::connect() {
  disconnect();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(port_);
  if (::getaddrinfo(host_.c_str(), port.c_str(), &hints, &found) != 0) return false;
  for (addrinfo* a = found; a && fd_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
    } else {
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  return fd_ >= 0;
}

void VpcdLink::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool VpcdLink::receive(MutableBytes buffer, std::size_t& length) {
  std::uint8_t header[2];
  // vpcd writes length and payload separately without TCP_NODELAY; acknowledging at once
  // keeps Nagle from holding its payload back for a delayed ACK (40 ms per APDU otherwise).
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
  if (fd_ < 0 || !read_exact(fd_, header, 2)) return disconnect(), false;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
  length = load_be16(header);
  if (length == 0 || length > buffer.size() || !read_exact(fd_, buffer.data(), length)) {
    disconnect();
    return false;
  }
  return true;
}

bool VpcdLink::send(Bytes payload) {
  std::uint8_t header[2];
  if (payload.size() > kMaxMessage) return false;
  store_be16(header, static_cast<std::uint16_t>(payload.size()));
  if (fd_ < 0 || !write_exact(fd_, header, 2) ||
      !write_exact(fd_, payload.data(), payload.size())) {
    disconnect();
    return false;
  }
  return true;
}

}  // namespace certkey::agent::transport
