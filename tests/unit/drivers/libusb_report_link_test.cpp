// The USB KEY driver's libusb back end, as far as a machine without USB can take it: the
// device names pcscd hands over, the choice of interface and endpoints from descriptors,
// and a clean "no key" when nothing is plugged in. docs/usbkey.md describes the test on a
// real key.
#include "usbkey/libusb_report_link.hpp"

#include <gtest/gtest.h>

namespace certkey::drivers::usbkey {
namespace {

TEST(UsbDeviceName, ReaderConfAndHotplugForms) {
  auto plain = parse_usb_device_name("usb:1209/0001");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->vendor, 0x1209);
  EXPECT_EQ(plain->product, 0x0001);
  EXPECT_EQ(plain->interface, -1);
  EXPECT_EQ(plain->bus, -1);

  auto hotplug = parse_usb_device_name("usb:1209/0001:libudev:0:/dev/bus/usb/003/017");
  ASSERT_TRUE(hotplug);
  EXPECT_EQ(hotplug->interface, 0);
  EXPECT_EQ(hotplug->bus, 3);
  EXPECT_EQ(hotplug->address, 17);
}

TEST(UsbDeviceName, AnythingElseIsRefused) {
  for (const char* bad :
       {"", "usb:", "usb:1209", "usb:xyz/0001", "socket:/tmp/x", "usb:1209/0001:libudev:0",
        "usb:1209/0001:libudev:0:/dev/sda", "usb:1209/0001:libudev:-1:/dev/bus/usb/001/002",
        "usb:1209/0001:libudev:0:/dev/bus/usb/001/002trailing"}) {
    EXPECT_FALSE(parse_usb_device_name(bad)) << bad;
  }
}

// Descriptors as libusb reports them, built by hand.
struct Descriptors {
  libusb_endpoint_descriptor endpoints[3] = {};
  libusb_interface_descriptor settings[2] = {};
  libusb_interface interfaces[2] = {};
  libusb_config_descriptor config = {};

  Descriptors() {
    // Interface 0: a vendor-class interface; interface 1: the HID interface.
    settings[0].bInterfaceNumber = 0;
    settings[0].bInterfaceClass = LIBUSB_CLASS_VENDOR_SPEC;
    settings[0].bNumEndpoints = 1;
    settings[0].endpoint = &endpoints[2];
    settings[1].bInterfaceNumber = 1;
    settings[1].bInterfaceClass = LIBUSB_CLASS_HID;
    settings[1].bNumEndpoints = 2;
    settings[1].endpoint = endpoints;
    endpoints[0] = interrupt(0x81);
    endpoints[1] = interrupt(0x02);
    endpoints[2] = interrupt(0x83);
    for (int i = 0; i < 2; ++i) {
      interfaces[i].altsetting = &settings[i];
      interfaces[i].num_altsetting = 1;
    }
    config.bNumInterfaces = 2;
    config.interface = interfaces;
  }
  static libusb_endpoint_descriptor interrupt(std::uint8_t address) {
    libusb_endpoint_descriptor e{};
    e.bEndpointAddress = address;
    e.bmAttributes = LIBUSB_TRANSFER_TYPE_INTERRUPT;
    e.wMaxPacketSize = 64;
    return e;
  }
};

TEST(HidEndpoints, TheHidInterfaceWithItsInterruptEndpoints) {
  Descriptors d;
  auto found = find_hid_endpoints(d.config, -1);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->interface, 1);
  EXPECT_EQ(found->in_endpoint, 0x81);
  EXPECT_EQ(found->out_endpoint, 0x02);
  EXPECT_TRUE(find_hid_endpoints(d.config, 1));
  EXPECT_FALSE(find_hid_endpoints(d.config, 0));  // pcscd named the vendor interface
}

TEST(HidEndpoints, WithoutAnInterruptOut_ReportsGoBySetReport) {
  Descriptors d;
  d.settings[1].bNumEndpoints = 1;
  auto found = find_hid_endpoints(d.config, -1);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->out_endpoint, 0);
}

TEST(HidEndpoints, PacketsTooSmallForAReport_OrNoInterruptIn_AreNoKey) {
  Descriptors small;
  small.endpoints[0].wMaxPacketSize = 8;
  EXPECT_FALSE(find_hid_endpoints(small.config, -1));
  Descriptors bulk;
  bulk.endpoints[0].bmAttributes = LIBUSB_TRANSFER_TYPE_BULK;
  EXPECT_FALSE(find_hid_endpoints(bulk.config, -1));
}

TEST(LibusbReportLink, NoKeyPluggedIn_IsNoKey) {
  LibusbReportLink link(UsbDeviceName{kVendorId, kProductId, -1, -1, -1});
  EXPECT_FALSE(link.open());
  EXPECT_FALSE(link.is_open());
  EXPECT_FALSE(link.alive());
  std::uint8_t report[64] = {};
  EXPECT_FALSE(link.write_report(Bytes(report, sizeof report)));
  EXPECT_EQ(link.read_report(MutableBytes(report, sizeof report), 10), HidReportLink::Read::gone);
}

}  // namespace
}  // namespace certkey::drivers::usbkey
