#include "vpcd_port.hpp"

#include <certkey/protocol/limits.hpp>

namespace certkey::agent::sim {

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
      case transport::VpcdControl::get_atr:
        link_.send(token_.atr());
        break;
      case transport::VpcdControl::power_off:
      case transport::VpcdControl::reset:
        token_.power_off();
        break;
      case transport::VpcdControl::power_on:
        break;
    }
    return;
  }
  ++apdus_;
  std::size_t n = token_.transmit(Bytes(message, length), MutableBytes(response, sizeof response));
  link_.send(Bytes(response, n));
  secure_zero(MutableBytes(message, length));  // APDUs may carry PINs
  secure_zero(MutableBytes(response, n));      // and responses decryptions or ECDH results
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
