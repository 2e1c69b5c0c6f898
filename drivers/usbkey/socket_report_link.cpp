#include "socket_report_link.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <certkey/protocol/hid_frame.hpp>

#include <certkey/protocol/bytes.hpp>

namespace certkey::drivers::usbkey {

namespace hid = protocol::hid;

bool SocketReportLink::open() {
  close();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path) return false;
  path_.copy(addr.sun_path, path_.size());
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  fd_ = fd;
  return true;
}

void SocketReportLink::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SocketReportLink::alive() {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) < 0) return true;
  if (p.revents & (POLLHUP | POLLERR)) return false;
  if (p.revents & POLLIN) {
    // A report nobody asked for stays queued (the session discards it); end of stream means
    // the key was pulled.
    std::uint8_t byte;
    return ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) != 0;
  }
  return true;
}

bool SocketReportLink::write_report(Bytes report) {
  return fd_ >= 0 && ::send(fd_, report.data(), report.size(), MSG_NOSIGNAL) ==
                         static_cast<ssize_t>(report.size());
}

HidReportLink::Read SocketReportLink::read_report(MutableBytes report, int timeout_ms) {
  if (fd_ < 0 || report.size() < hid::kReportSize) return Read::gone;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Read::gone;
    if (ready == 0) return Read::timeout;
    std::uint8_t datagram[hid::kReportSize + 1];
    const ssize_t n = ::recv(fd_, datagram, sizeof datagram, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return Read::gone;
    if (static_cast<std::size_t>(n) != hid::kReportSize)
      continue;  // not a report: dropped, as by a HID stack
    std::copy(datagram, datagram + hid::kReportSize, report.begin());
    protocol::secure_zero(MutableBytes(datagram, sizeof datagram));
    return Read::report;
  }
}

}  // namespace certkey::drivers::usbkey
