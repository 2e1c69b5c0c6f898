// Factory defaults of a fresh or reset token (docs/protocol.md, "Defaults"). They match the
// values PIV tools document, so standard tools work out of the box.
#pragma once
#include <certkey/protocol/algorithms.hpp>
#include <certkey/protocol/defaults.hpp>
#include <cstddef>
#include <cstdint>

namespace certkey::agent::piv {

// "123456" and "12345678", right-padded with 0xFF to the 8-byte PIN block.
inline constexpr std::uint8_t kDefaultPinBlock[8] = {'1', '2', '3', '4', '5', '6', 0xFF, 0xFF};
inline constexpr std::uint8_t kDefaultPukBlock[8] = {'1', '2', '3', '4', '5', '6', '7', '8'};
using protocol::kDefaultManagementKey;

// CHUID: 30 FASC-N (non-federal issuer), 34 GUID, 35 expiry "20991231", 3E signature, FE LRC.
inline constexpr std::size_t kChuidTemplateSize = 59;
inline constexpr std::size_t kChuidGuidOffset = 29;
inline constexpr std::uint8_t kChuidTemplate[kChuidTemplateSize] = {
    0x30, 0x19, 0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68,
    0x58, 0x21, 0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB, 0x34, 0x10, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x35, 0x08, '2',  '0',  '9',  '9',  '1',  '2',  '3',  '1',  0x3E, 0x00, 0xFE, 0x00};

// SP 800-73-4 default PIN policies per slot: 9C needs the PIN before every use, 9E never.
constexpr protocol::PinPolicy default_pin_policy(std::uint8_t slot) {
  if (slot == 0x9C) return protocol::PinPolicy::always;
  if (slot == 0x9E || slot == 0xF9) return protocol::PinPolicy::never;
  return protocol::PinPolicy::once;
}

}  // namespace certkey::agent::piv
