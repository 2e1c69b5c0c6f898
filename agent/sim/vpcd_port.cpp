#include "vpcd_port.hpp"

#include <certkey/protocol/limits.hpp>
#include <certkey/protocol/sw.hpp>

#include <poll.h>

namespace certkey::agent::sim {
namespace {
constexpr int kSlowAnswerMs = 200;
}  // namespace

bool VpcdPort::tick() {
  // An inserted token keeps trying until pcscd's reader listens.
  return inserted_ && !link_.connected() && !link_.connect();
}

void VpcdPort::add_poll_fds(std::vector<pollfd>& fds) {
  if (link_.connected()) fds.push_back({link_.fd(), POLLIN, 0});
}

void VpcdPort::on_ready(const pollfd&) {
  static std::uint8_t message[transport::VpcdLink::kMaxMessage];
  static std::uint8_t response[protocol::kMaxResponseApdu];
  std::size_t length = 0;
  if (!link_.receive(MutableBytes(message, sizeof message), length)) {
    token_.power_off();  // pcscd went away: the card loses power
    return;
  }
  if (length == 1) {
    switch (static_cast<transport::VpcdControl>(message[0])) {
      case transport::VpcdControl::get_atr: link_.send(token_.atr()); break;
      case transport::VpcdControl::power_off:
      case transport::VpcdControl::reset: token_.power_off(); break;
      case transport::VpcdControl::power_on: break;
    }
    return;
  }
  ++apdus_;
  const Fault::Kind fault = fault_now();
  std::size_t n = 0;
  if (fault == Fault::Kind::fail) {  // refused without reaching the applet
    const std::uint16_t sw = protocol::to_u16(protocol::Sw::unknown);
    response[0] = static_cast<std::uint8_t>(sw >> 8);
    response[1] = static_cast<std::uint8_t>(sw & 0xFF);
    n = 2;
  } else {
    n = token_.transmit(Bytes(message, length), MutableBytes(response, sizeof response));
  }
  secure_zero(MutableBytes(message, length));  // APDUs may carry PINs
  if (fault == Fault::Kind::corrupt) response[0] ^= 0xFF;
  // A slow card: long enough that the host's answer cannot have come from anything but the
  // wait (no host timeout is shorter), short enough for a sweep.
  if (fault == Fault::Kind::delay) ::poll(nullptr, 0, kSlowAnswerMs);
  if (fault != Fault::Kind::drop) link_.send(Bytes(response, n));
  secure_zero(MutableBytes(response, n));  // responses carry decryptions or ECDH results
  // The card falls silent (its answer lost), or is pulled once it answered.
  if (fault == Fault::Kind::drop || fault == Fault::Kind::pull) remove();
}

Fault::Kind VpcdPort::fault_now() {
  if (fault_.kind == Fault::Kind::none || --fault_.countdown != 0) return Fault::Kind::none;
  const Fault::Kind kind = fault_.kind;
  fault_ = Fault{};
  return kind;
}

bool VpcdPort::insert(std::string&) {
  inserted_ = true;  // tick() connects it to its reader
  return true;
}

void VpcdPort::remove() {
  inserted_ = false;
  link_.disconnect();
  token_.power_off();
}

}  // namespace certkey::agent::sim
