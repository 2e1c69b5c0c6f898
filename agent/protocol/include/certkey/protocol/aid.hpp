// Application identifiers.
#pragma once
#include <array>
#include <cstdint>

namespace certkey::protocol {

// NIST PIV application: RID A0 00 00 03 08, PIX 00 00 10 00 01 00. Clients select by the
// 5-byte RID prefix or the full AID; both match (ISO 7816-4 partial DF name selection).
inline constexpr std::array<std::uint8_t, 11> kPivAid = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                                         0x00, 0x10, 0x00, 0x01, 0x00};
inline constexpr std::size_t kPivAidPrefixLength = 5;

}  // namespace certkey::protocol
