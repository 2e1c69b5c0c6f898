// Instruction bytes and class bytes of the certkey token command set. This header and its
// siblings are the only place these bytes are spelled; agent, card library and tests use them.
#pragma once
#include <cstddef>
#include <cstdint>

namespace certkey::protocol {

// CLA values. Bit 0x10 marks a command-chaining block (ISO 7816-4 5.1.1); the low two bits
// name the logical channel 0-3 (SIM tokens use a logical channel, DESIGN.md section 4).
inline constexpr std::uint8_t kClaIso = 0x00;
inline constexpr std::uint8_t kClaChainBit = 0x10;
inline constexpr std::uint8_t kClaChannelMask = 0x03;
inline constexpr std::uint8_t kClaCertkey = 0x80;  // proprietary class: certkey extensions

// ISO 7816-4 / NIST SP 800-73-4 card edge, plus the Yubico-compatible management
// extensions that yubico-piv-tool and ykcs11 expect (all with CLA 00).
enum class Ins : std::uint8_t {
  verify = 0x20,
  change_reference_data = 0x24,
  reset_retry_counter = 0x2C,
  generate_asymmetric_key_pair = 0x47,
  get_challenge = 0x84,  // ISO 7816-4 11.5.3: Le random bytes from the token's RNG
  manage_channel = 0x70,
  general_authenticate = 0x87,
  select = 0xA4,
  get_response = 0xC0,
  get_data = 0xCB,
  put_data = 0xDB,
  // Yubico-compatible management extensions.
  move_key = 0xF6,
  get_metadata = 0xF7,
  get_serial = 0xF8,
  attest = 0xF9,
  set_pin_retries = 0xFA,
  reset = 0xFB,
  get_version = 0xFD,
  import_key = 0xFE,
  set_management_key = 0xFF,
};

// certkey's own extensions, sent with CLA kClaCertkey to the selected PIV application.
enum class CertkeyIns : std::uint8_t {
  token_info = 0xD0,        // serial, medium, firmware version, change counter, policy
  unlock_challenge = 0xD2,  // fresh single-use challenge for remote unlock
  unlock_response = 0xD4,   // help-desk response + new PIN
  set_unlock_key = 0xD6,    // issuance: per-token unlock key (needs management key)
  list_keys = 0xD8,         // every occupied key slot and certificate, in one response
  swap_slots = 0xDA,        // P1, P2: two key slots exchange keys and certificates (one commit)
};

// LIST KEYS answers with one fixed-size entry per slot that holds a key or a certificate:
// slot, algorithm (0: no key), PIN policy, touch policy, origin, certificate object length
// (big-endian 16 bits; 0: none), reserved.
inline constexpr std::size_t kListKeysEntrySize = 8;

// MANAGE CHANNEL (ISO 7816-4 11.1.2): P1 00 opens (P2 00: the token picks), P1 80 closes P2.
inline constexpr std::uint8_t kManageChannelOpen = 0x00;
inline constexpr std::uint8_t kManageChannelClose = 0x80;
inline constexpr std::uint8_t kLogicalChannels = 4;  // basic channel 0 and channels 1-3

// STATUS (ETSI TS 102 221 11.1.2), CLA 80, answered by the UICC application on a channel.
inline constexpr std::uint8_t kInsStatus = 0xF2;

// P1 of VERIFY with P1=FF resets the PIN's security status (SP 800-73-4 3.2.1).
inline constexpr std::uint8_t kVerifyP1Logout = 0xFF;
// P1 of MOVE KEY naming "no destination": delete the key.
inline constexpr std::uint8_t kMoveKeyDelete = 0xFF;
// P1/P2 of SET MANAGEMENT KEY: FF FF = no touch required (FE would require touch).
inline constexpr std::uint8_t kSetManagementKeyP1 = 0xFF;

}  // namespace certkey::protocol
