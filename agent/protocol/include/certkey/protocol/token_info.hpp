// The TOKEN INFO response (docs/protocol.md 7.1): a flat list of one-byte tags (tags.hpp).
// Hosts read it with read_token_info(); unknown tags are skipped, so firmware may add fields.
#pragma once
#include "algorithms.hpp"
#include "bytes.hpp"

namespace certkey::protocol {

// Bits of the policy field (tag 05).
inline constexpr std::uint8_t kPolicyRequirePinChange =
    0x01;  // the default PIN must be changed before use

// Retry limit, tries left and "still the factory value" of a PIN or PUK (tags 07, 08).
struct CredentialState {
  std::uint8_t limit = 0;
  std::uint8_t left = 0;
  bool is_default = false;
};

struct TokenInfo {
  std::uint32_t serial = 0;
  Medium medium = Medium::smartcard;
  std::uint8_t firmware[3] = {};
  std::uint32_t change_counter = 0;
  std::uint8_t policy = 0;
  // Tag 06, present only when the token holds a help-desk unlock key.
  bool has_unlock_key = false;
  std::uint8_t unlock_limit = 0, unlock_left = 0;
  // Older firmware leaves the credential states out.
  bool has_pin_state = false, has_puk_state = false;
  CredentialState pin, puk;
};

// False when `data` is not a well-formed list of TLVs. A field of the wrong size is ignored.
bool read_token_info(Bytes data, TokenInfo& out);

}  // namespace certkey::protocol
