// HID reports over libusb, for USB KEY hardware: finds the key by VID:PID (and, from
// pcscd's hotplug, its bus device node), claims its HID interface and moves reports on the
// interrupt endpoints, or with SET_REPORT control transfers when the key has no interrupt
// OUT endpoint. docs/usbkey.md says how to try it on a real key.
#pragma once
#include <libusb.h>

#include <optional>
#include <string>

#include "hid_report_link.hpp"

namespace certkey::drivers::usbkey {

// The certkey USB KEY: pid.codes' test VID:PID (docs/usbkey.md).
inline constexpr std::uint16_t kVendorId = 0x1209;
inline constexpr std::uint16_t kProductId = 0x0001;

// What pcscd's DEVICENAME says about a USB device: "usb:VVVV/PPPP" in reader.conf.d, or
// "usb:VVVV/PPPP:libudev:INTERFACE:/dev/bus/usb/BUS/ADDRESS" from its hotplug.
struct UsbDeviceName {
  std::uint16_t vendor = 0;
  std::uint16_t product = 0;
  int interface = -1;  // -1: the first HID interface
  int bus = -1;        // -1: any bus and address
  int address = -1;
};
std::optional<UsbDeviceName> parse_usb_device_name(const std::string& name);

// The HID interface to claim and its endpoints; out_endpoint 0 means SET_REPORT on the
// control pipe.
struct HidEndpoints {
  int interface = -1;
  std::uint8_t in_endpoint = 0;
  std::uint8_t out_endpoint = 0;
};
std::optional<HidEndpoints> find_hid_endpoints(const libusb_config_descriptor& config,
                                               int wanted_interface);

class LibusbReportLink final : public HidReportLink {
 public:
  explicit LibusbReportLink(UsbDeviceName device) : device_(device) {}
  ~LibusbReportLink() override;

  bool open() override;
  void close() override;
  bool is_open() const override { return handle_ != nullptr; }
  bool alive() override;
  bool write_report(Bytes report) override;
  Read read_report(MutableBytes report, int timeout_ms) override;

 private:
  bool matches(libusb_device* device) const;
  bool claim(libusb_device* device);

  UsbDeviceName device_;
  libusb_context* context_ = nullptr;
  libusb_device_handle* handle_ = nullptr;
  HidEndpoints endpoints_;
};

}  // namespace certkey::drivers::usbkey
