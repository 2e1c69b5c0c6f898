#include "libusb_report_link.hpp"

#include <certkey/protocol/hid_frame.hpp>
#include <cstdio>

namespace certkey::drivers::usbkey {
namespace {

namespace hid = protocol::hid;

constexpr int kWriteTimeoutMs = 1000;
constexpr int kShortPacketsTolerated = 16;
constexpr std::uint8_t kHidSetReport = 0x09;
// Host to device, class request, to the interface.
constexpr std::uint8_t kSetReportRequestType = 0x21;
constexpr std::uint16_t kOutputReport = 0x0200;  // report type 2 in the high byte, ID 0

}  // namespace

std::optional<UsbDeviceName> parse_usb_device_name(const std::string& name) {
  UsbDeviceName out;
  unsigned vendor = 0, product = 0;
  int consumed = 0;
  if (std::sscanf(name.c_str(), "usb:%4x/%4x%n", &vendor, &product, &consumed) != 2)
    return std::nullopt;
  out.vendor = static_cast<std::uint16_t>(vendor);
  out.product = static_cast<std::uint16_t>(product);
  const std::string rest = name.substr(static_cast<std::size_t>(consumed));
  if (rest.empty()) return out;
  int interface = -1, bus = -1, address = -1, tail = 0;
  if (std::sscanf(rest.c_str(), ":libudev:%d:/dev/bus/usb/%d/%d%n", &interface, &bus, &address,
                  &tail) != 3 ||
      static_cast<std::size_t>(tail) != rest.size() || interface < 0 || interface > 255 ||
      bus < 0 || address < 0) {
    return std::nullopt;
  }
  out.interface = interface;
  out.bus = bus;
  out.address = address;
  return out;
}

std::optional<HidEndpoints> find_hid_endpoints(const libusb_config_descriptor& config,
                                               int wanted_interface) {
  for (int i = 0; i < config.bNumInterfaces; ++i) {
    const libusb_interface& interface = config.interface[i];
    if (interface.num_altsetting < 1) continue;
    const libusb_interface_descriptor& setting = interface.altsetting[0];
    if (setting.bInterfaceClass != LIBUSB_CLASS_HID) continue;
    if (wanted_interface >= 0 && setting.bInterfaceNumber != wanted_interface) continue;
    HidEndpoints found;
    found.interface = setting.bInterfaceNumber;
    for (int e = 0; e < setting.bNumEndpoints; ++e) {
      const libusb_endpoint_descriptor& endpoint = setting.endpoint[e];
      if ((endpoint.bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) != LIBUSB_TRANSFER_TYPE_INTERRUPT)
        continue;
      if (endpoint.wMaxPacketSize < hid::kReportSize) continue;  // reports must fit one packet
      if (endpoint.bEndpointAddress & LIBUSB_ENDPOINT_IN) {
        if (!found.in_endpoint) found.in_endpoint = endpoint.bEndpointAddress;
      } else if (!found.out_endpoint) {
        found.out_endpoint = endpoint.bEndpointAddress;
      }
    }
    if (found.in_endpoint) return found;
  }
  return std::nullopt;
}

LibusbReportLink::~LibusbReportLink() {
  close();
  if (context_) libusb_exit(context_);
}

bool LibusbReportLink::matches(libusb_device* device) const {
  libusb_device_descriptor descriptor{};
  if (libusb_get_device_descriptor(device, &descriptor) != 0) return false;
  if (descriptor.idVendor != device_.vendor || descriptor.idProduct != device_.product)
    return false;
  return device_.bus < 0 || (libusb_get_bus_number(device) == device_.bus &&
                             libusb_get_device_address(device) == device_.address);
}

bool LibusbReportLink::claim(libusb_device* device) {
  libusb_config_descriptor* config = nullptr;
  if (libusb_get_active_config_descriptor(device, &config) != 0) return false;
  const std::optional<HidEndpoints> endpoints = find_hid_endpoints(*config, device_.interface);
  libusb_free_config_descriptor(config);
  if (!endpoints || libusb_open(device, &handle_) != 0) return false;
  // The kernel's usbhid driver binds HID interfaces; libusb detaches it while we hold the
  // interface and gives it back on release.
  libusb_set_auto_detach_kernel_driver(handle_, 1);
  if (libusb_claim_interface(handle_, endpoints->interface) != 0) {
    libusb_close(handle_);
    handle_ = nullptr;
    return false;
  }
  endpoints_ = *endpoints;
  return true;
}

bool LibusbReportLink::open() {
  close();
  if (!context_ && libusb_init(&context_) != 0) {
    context_ = nullptr;
    return false;
  }
  libusb_device** devices = nullptr;
  const ssize_t count = libusb_get_device_list(context_, &devices);
  for (ssize_t i = 0; i < count && !handle_; ++i) {
    if (matches(devices[i])) claim(devices[i]);
  }
  if (devices) libusb_free_device_list(devices, 1);
  return handle_ != nullptr;
}

void LibusbReportLink::close() {
  if (!handle_) return;
  libusb_release_interface(handle_, endpoints_.interface);
  libusb_close(handle_);
  handle_ = nullptr;
}

bool LibusbReportLink::alive() {
  int configuration = 0;
  return handle_ && libusb_get_configuration(handle_, &configuration) != LIBUSB_ERROR_NO_DEVICE;
}

bool LibusbReportLink::write_report(Bytes report) {
  if (!handle_ || report.size() != hid::kReportSize) return false;
  auto* data = const_cast<unsigned char*>(report.data());  // libusb does not write OUT data
  const int length = static_cast<int>(report.size());
  if (!endpoints_.out_endpoint) {
    const int sent =
        libusb_control_transfer(handle_, kSetReportRequestType, kHidSetReport, kOutputReport,
                                static_cast<std::uint16_t>(endpoints_.interface), data,
                                static_cast<std::uint16_t>(length), kWriteTimeoutMs);
    return sent == length;
  }
  int transferred = 0;
  return libusb_interrupt_transfer(handle_, endpoints_.out_endpoint, data, length, &transferred,
                                   kWriteTimeoutMs) == 0 &&
         transferred == length;
}

HidReportLink::Read LibusbReportLink::read_report(MutableBytes report, int timeout_ms) {
  if (!handle_ || report.size() < hid::kReportSize) return Read::gone;
  // A device sending only short packets is given up on like one sending nothing.
  for (int attempt = 0; attempt < kShortPacketsTolerated; ++attempt) {
    int transferred = 0;
    const int result = libusb_interrupt_transfer(handle_, endpoints_.in_endpoint, report.data(),
                                                 static_cast<int>(hid::kReportSize), &transferred,
                                                 static_cast<unsigned>(timeout_ms));
    if (result == LIBUSB_ERROR_TIMEOUT) return Read::timeout;
    if (result != 0) return Read::gone;
    if (transferred == static_cast<int>(hid::kReportSize)) return Read::report;
    // A short packet is no report: dropped, as the HID stack would.
  }
  return Read::timeout;
}

}  // namespace certkey::drivers::usbkey
