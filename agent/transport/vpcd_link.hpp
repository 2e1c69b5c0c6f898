// Device side of vsmartcard's vpcd protocol: the token connects to the vpcd reader driver
// inside pcscd over TCP. Each message is a 2-byte big-endian length and a payload; a 1-byte
// payload is a control code (power off/on, reset, ATR request), anything longer an APDU.
#pragma once
#include <cstdint>
#include <string>

#include "../core/bytes.hpp"

namespace certkey::agent::transport {

enum class VpcdControl : std::uint8_t {
  power_off = 0x00,
  power_on = 0x01,
  reset = 0x02,
  get_atr = 0x04
};

class VpcdLink {
 public:
  static constexpr std::size_t kMaxMessage = 0xFFFF;

  VpcdLink(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {}
  ~VpcdLink() { disconnect(); }
  VpcdLink(const VpcdLink&) = delete;
  VpcdLink& operator=(const VpcdLink&) = delete;

  // One connection attempt; false while vpcd is not listening yet.
  bool connect();
  void disconnect();
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Reads one whole message; false when the peer closed or sent garbage (the link is closed).
  bool receive(MutableBytes buffer, std::size_t& length);
  bool send(Bytes payload);

 private:
  std::string host_;
  std::uint16_t port_;
  int fd_ = -1;
};

}  // namespace certkey::agent::transport
