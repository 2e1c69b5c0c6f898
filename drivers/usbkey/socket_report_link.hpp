// HID reports over a local SOCK_SEQPACKET socket, one report per datagram: the simulator's
// USB KEY (agent/sim/usb_key_port.*) listens there while it is plugged in.
#pragma once
#include <string>

#include "hid_report_link.hpp"

namespace certkey::drivers::usbkey {

class SocketReportLink final : public HidReportLink {
 public:
  explicit SocketReportLink(std::string path) : path_(std::move(path)) {}
  ~SocketReportLink() override { close(); }

  bool open() override;
  void close() override;
  bool is_open() const override { return fd_ >= 0; }
  bool alive() override;
  bool write_report(Bytes report) override;
  Read read_report(MutableBytes report, int timeout_ms) override;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace certkey::drivers::usbkey
