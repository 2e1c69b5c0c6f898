// The USB KEY reader: the key is the reader and the card at once, so the card is present
// exactly while the key's HID link is open.
#include <certkey/protocol/atr.hpp>

#include "hid_host_session.hpp"
#include "libusb_report_link.hpp"
#include "socket_report_link.hpp"

namespace certkey::drivers::usbkey {
namespace {

class UsbKeyReader final : public IfdReader {
 public:
  explicit UsbKeyReader(std::unique_ptr<HidReportLink> link)
      : link_(std::move(link)), session_(*link_) {}

  // A key found gone is reported absent before it is looked for again, so that pulling and
  // plugging it between two polls still shows as a removal.
  bool present() override {
    if (link_->is_open() && !link_->alive()) {
      link_->close();
      session_.stop();
      return false;
    }
    return link_->is_open() || link_->open();
  }

  bool power_up(std::vector<std::uint8_t>& atr) override {
    if (!present() || session_.start() != TransmitStatus::ok) return false;
    // A HID key has no answer-to-reset of its own; it answers as a certkey token would.
    atr.assign(protocol::kTokenAtr.begin(), protocol::kTokenAtr.end());
    return true;
  }

  // Powering down resets the card state at once (a new INIT), as cutting power would, so no
  // verified PIN outlives it; the session then ends.
  void power_down() override {
    if (link_->is_open() && session_.start() != TransmitStatus::ok) link_->close();
    session_.stop();
  }

  TransmitStatus transmit(Bytes command, MutableBytes response, std::size_t& length) override {
    const TransmitStatus status = session_.transceive(command, response, length);
    if (status == TransmitStatus::gone) link_->close();  // reconnected when the key is seen again
    return status;
  }

 private:
  std::unique_ptr<HidReportLink> link_;
  HidHostSession session_;
};

}  // namespace
}  // namespace certkey::drivers::usbkey

namespace certkey::drivers {

// "socket:PATH" reaches a simulated key; anything pcscd's USB hotplug or a reader.conf.d
// entry calls "usb:VVVV/PPPP..." is hardware.
const char* const kIfdType = "certkey USB KEY";

std::unique_ptr<IfdReader> create_reader(const std::string& device_name) {
  using namespace usbkey;
  constexpr std::string_view kSocket = "socket:";
  if (device_name.rfind(kSocket, 0) == 0 && device_name.size() > kSocket.size()) {
    return std::make_unique<UsbKeyReader>(
        std::make_unique<SocketReportLink>(device_name.substr(kSocket.size())));
  }
  if (auto usb = parse_usb_device_name(device_name)) {
    return std::make_unique<UsbKeyReader>(std::make_unique<LibusbReportLink>(*usb));
  }
  return nullptr;
}

}  // namespace certkey::drivers
