// A USB KEY token. On hardware its HID reports travel on interrupt endpoints; here they are
// datagrams of a local SOCK_SEQPACKET socket, one report each, which the host driver's
// socket back end connects to (drivers/usbkey). Plugging the key in is listening on the
// socket; pulling it closes the socket.
#pragma once
#include <chrono>

#include "../transport/hid_device.hpp"
#include "sim_token.hpp"
#include "token_port.hpp"

namespace certkey::agent::sim {

class UsbKeyPort final : public TokenPort, private transport::HidReportSink {
 public:
  UsbKeyPort(SimToken& token, std::string socket_path);
  ~UsbKeyPort() override;

  void add_poll_fds(std::vector<pollfd>& fds) override;
  void on_ready(const pollfd& ready) override;
  bool insert(std::string& error) override;
  void remove() override;
  bool inserted() const override { return listen_fd_ >= 0; }
  std::string stats() const override;

 private:
  bool send_report(Bytes report) override;
  void serve_host();
  void drop_host();
  static void on_progress(void* self);

  SimToken& token_;
  std::string socket_path_;
  int listen_fd_ = -1;
  int host_fd_ = -1;
  transport::HidDevice device_;
  std::uint64_t apdus_ = 0;
  std::uint64_t keepalives_ = 0;
  std::uint64_t command_keepalives_ = 0;  // of the command running now
  std::chrono::steady_clock::time_point last_keepalive_{};
};

}  // namespace certkey::agent::sim
