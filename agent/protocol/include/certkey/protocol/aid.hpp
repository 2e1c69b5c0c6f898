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

// USIM application (ETSI TS 101 220: RID A0 00 00 00 87, application code 10 02), the
// application a SIM token keeps selected on its basic channel.
inline constexpr std::array<std::uint8_t, 7> kUsimAid = {0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02};

}  // namespace certkey::protocol
