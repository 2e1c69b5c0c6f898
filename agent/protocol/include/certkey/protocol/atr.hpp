// Answer-to-reset of certkey tokens on contact/CCID-style links.
#pragma once
#include <array>
#include <cstdint>

namespace certkey::protocol {

// 3B 8E 80 01: direct convention, 14 historical bytes, T=0 and T=1 offered (hosts such as
// yubico-piv-tool connect with T=1 only). Historical bytes, compact-TLV after category 80:
// F9 <PIV AID prefix> marks a PIV card (OpenSC then uses no quirks), 52 "ck" names certkey.
inline constexpr std::array<std::uint8_t, 19> kTokenAtr = [] {
  std::array<std::uint8_t, 19> atr = {0x3B, 0x8E, 0x80, 0x01, 0x80, 0xF9, 0xA0, 0x00, 0x00, 0x03,
                                      0x08, 0x00, 0x00, 0x10, 0x00, 0x52, 'c',  'k',  0x00};
  std::uint8_t tck = 0;  // XOR of T0 .. last historical byte
  for (std::size_t i = 1; i + 1 < atr.size(); ++i) tck = static_cast<std::uint8_t>(tck ^ atr[i]);
  atr[atr.size() - 1] = tck;
  return atr;
}();

// A SIM token's answer-to-reset: T=0 only (no TD1, so no TCK), TA1 = 96, 12 historical
// bytes: category 80, F7 <USIM AID> (application identifier), 52 "ck" (certkey).
inline constexpr std::array<std::uint8_t, 15> kSimAtr = {
    0x3B, 0x1C, 0x96, 0x80, 0xF7, 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0x52, 'c', 'k'};

// Both ATRs carry the historical bytes 52 'c' 'k': how hosts recognise a certkey token.
inline constexpr std::array<std::uint8_t, 3> kAtrMarker = {0x52, 'c', 'k'};

}  // namespace certkey::protocol
