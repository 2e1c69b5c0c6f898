#include "usb_key_port.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

#include <certkey/protocol/limits.hpp>

namespace certkey::agent::sim {
namespace {

// A real token sends keep-alives from a timer while it works; the simulator sends the first
// as soon as a slow operation reports progress, then at this interval.
constexpr auto kKeepaliveInterval = std::chrono::milliseconds(100);

}  // namespace

UsbKeyPort::UsbKeyPort(SimToken& token, std::string socket_path)
    : token_(token), socket_path_(std::move(socket_path)) {}

UsbKeyPort::~UsbKeyPort() { remove(); }

bool UsbKeyPort::insert(std::string& error) {
  if (listen_fd_ >= 0) return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path)
    return error = "socket path too long: " + socket_path_, false;
  socket_path_.copy(addr.sun_path, socket_path_.size());
  ::unlink(socket_path_.c_str());
  // Not blocking: accept() after a stale readiness must not stall the simulator.
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(socket_path_.c_str(), 0600) != 0 || ::listen(fd, 1) != 0) {
    if (fd >= 0) ::close(fd);
    return error = "cannot listen on " + socket_path_, false;
  }
  listen_fd_ = fd;
  return true;
}

void UsbKeyPort::remove() {
  drop_host();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(socket_path_.c_str());
  }
  listen_fd_ = -1;
}

void UsbKeyPort::drop_host() {
  if (host_fd_ >= 0) ::close(host_fd_);
  host_fd_ = -1;
  device_.disconnect();
  token_.power_off();  // unplugged: the key loses power
}

void UsbKeyPort::add_poll_fds(std::vector<pollfd>& fds) {
  if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
  if (host_fd_ >= 0) fds.push_back({host_fd_, POLLIN, 0});
}

void UsbKeyPort::on_ready(const pollfd& ready) {
  if (ready.fd == host_fd_) return serve_host();
  if (ready.fd != listen_fd_) return;  // a descriptor closed earlier in this round
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return;
  // One USB host at a time: a new connection is a new enumeration and replaces the old one.
  drop_host();
  host_fd_ = fd;
}

void UsbKeyPort::serve_host() {
  static std::uint8_t response[protocol::kMaxResponseApdu];
  std::uint8_t report[transport::hid::kReportSize + 1];
  // Not blocking: a descriptor number polled in this round may have been reused since.
  ssize_t n = ::recv(host_fd_, report, sizeof report, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) return drop_host();
  if (static_cast<std::size_t>(n) != transport::hid::kReportSize)
    return;  // not a report: dropped, as by the USB stack
  const transport::HidDevice::Event event =
      device_.feed(Bytes(report, transport::hid::kReportSize), *this);
  secure_zero(MutableBytes(report, sizeof report));  // reports carry PINs
  switch (event) {
    case transport::HidDevice::Event::none: return;
    case transport::HidDevice::Event::reset: token_.power_off(); return;
    case transport::HidDevice::Event::apdu: break;
  }
  ++apdus_;
  command_keepalives_ = 0;
  token_.set_progress(on_progress, this);
  std::size_t length = token_.transmit(device_.apdu(), MutableBytes(response, sizeof response));
  token_.set_progress(nullptr, nullptr);
  device_.respond(Bytes(response, length), *this);
  secure_zero(MutableBytes(response, length));  // decryptions, ECDH results
}

void UsbKeyPort::on_progress(void* context) {
  auto* self = static_cast<UsbKeyPort*>(context);
  const auto now = std::chrono::steady_clock::now();
  if (self->command_keepalives_ > 0 && now - self->last_keepalive_ < kKeepaliveInterval) return;
  if (self->device_.keepalive(*self)) ++self->keepalives_;
  ++self->command_keepalives_;
  self->last_keepalive_ = now;
}

bool UsbKeyPort::send_report(Bytes report) {
  return host_fd_ >= 0 && ::send(host_fd_, report.data(), report.size(), MSG_NOSIGNAL) ==
                              static_cast<ssize_t>(report.size());
}

std::string UsbKeyPort::stats() const {
  return "apdus=" + std::to_string(apdus_) + " keepalives=" + std::to_string(keepalives_);
}

}  // namespace certkey::agent::sim
