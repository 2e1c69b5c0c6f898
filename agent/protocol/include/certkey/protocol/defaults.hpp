// Factory defaults of a fresh or reset token, as PIV tools document them (docs/protocol.md).
#pragma once
#include <array>
#include <cstdint>

namespace certkey::protocol {

// 3DES, 01 02 03 04 05 06 07 08 three times.
inline constexpr std::array<std::uint8_t, 24> kDefaultManagementKey = {
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

// Yubico's convention for a PIN-protected management key: object 5FC109 holds 88 { 89 key },
// readable once the PIN is verified.
inline constexpr std::uint16_t kProtectedDataTag = 0x88;
inline constexpr std::uint16_t kProtectedManagementKeyTag = 0x89;

}  // namespace certkey::protocol
