#include "apdu.hpp"

#include <certkey/protocol/ins.hpp>

namespace certkey::agent {

bool CommandApdu::chained() const { return (cla & protocol::kClaChainBit) != 0; }
std::uint8_t CommandApdu::channel() const { return cla & protocol::kClaChannelMask; }
std::uint8_t CommandApdu::cla_class() const {
  return static_cast<std::uint8_t>(cla & ~(protocol::kClaChainBit | protocol::kClaChannelMask));
}

bool parse_command_apdu(Bytes raw, CommandApdu& out) {
  if (raw.size() < 4) return false;
  out = CommandApdu{};
  out.cla = raw[0];
  out.ins = raw[1];
  out.p1 = raw[2];
  out.p2 = raw[3];
  const std::size_t n = raw.size();
  if (n == 4) return true;  // case 1
  if (n == 5) {             // case 2S
    out.ne = raw[4] == 0 ? 256 : raw[4];
    return true;
  }
  if (raw[4] != 0) {  // cases 3S, 4S
    std::size_t lc = raw[4];
    if (n == 5 + lc) {
      out.data = raw.subspan(5, lc);
      return true;
    }
    if (n == 6 + lc) {
      out.data = raw.subspan(5, lc);
      out.ne = raw[n - 1] == 0 ? 256 : raw[n - 1];
      return true;
    }
    return false;
  }
  if (n < 7) return false;  // P3 = 00 opens an extended length, which needs two more bytes
  out.extended = true;
  if (n == 7) {  // case 2E
    std::size_t le = load_be16(&raw[5]);
    out.ne = le == 0 ? 65536 : le;
    return true;
  }
  std::size_t lc = load_be16(&raw[5]);
  if (lc == 0) return false;
  if (n == 7 + lc) {  // case 3E
    out.data = raw.subspan(7, lc);
    return true;
  }
  if (n == 9 + lc) {  // case 4E
    out.data = raw.subspan(7, lc);
    std::size_t le = load_be16(&raw[n - 2]);
    out.ne = le == 0 ? 65536 : le;
    return true;
  }
  return false;
}

}  // namespace certkey::agent
