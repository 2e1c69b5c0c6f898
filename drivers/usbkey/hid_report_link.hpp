// How the USB KEY driver moves 64-byte HID reports: libusb on hardware, a local socket to
// the simulator. Everything above (drivers/usbkey/hid_host_session.*) is the same for both.
#pragma once
#include "../ifd/ifd_reader.hpp"

namespace certkey::drivers::usbkey {

class HidReportLink {
 public:
  enum class Read : std::uint8_t { report, timeout, gone };

  virtual ~HidReportLink() = default;
  // Opens the device (claims its HID interface) or connects; false while it is not there.
  virtual bool open() = 0;
  virtual void close() = 0;
  virtual bool is_open() const = 0;
  // Whether an open device is still there; does not wait.
  virtual bool alive() = 0;
  virtual bool write_report(Bytes report) = 0;
  // Waits at most timeout_ms for one report (kReportSize bytes into `report`).
  virtual Read read_report(MutableBytes report, int timeout_ms) = 0;
};

}  // namespace certkey::drivers::usbkey
