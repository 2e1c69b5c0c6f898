// What the PIV applet keeps in the record store: record ids and their storage images.
// Every image is made of byte arrays only, so its layout has no padding (static_asserts in
// piv_applet.cpp) and it is the same on every target.
#pragma once
#include <certkey/protocol/token_info.hpp>
#include <cstdint>

#include "../../hal/crypto.hpp"

namespace certkey::agent::piv {

namespace record {
inline constexpr std::uint16_t kTokenConfig = 0x0001;
inline constexpr std::uint16_t kChangeCounter = 0x0002;
inline constexpr std::uint16_t kPinCounter = 0x0010;
inline constexpr std::uint16_t kPinValue = 0x0011;
inline constexpr std::uint16_t kPukCounter = 0x0012;
inline constexpr std::uint16_t kPukValue = 0x0013;
inline constexpr std::uint16_t kManagementCounter = 0x0014;
inline constexpr std::uint16_t kManagementKey = 0x0015;
inline constexpr std::uint16_t kUnlockCounter = 0x0016;
inline constexpr std::uint16_t kUnlockKey = 0x0017;

constexpr std::uint16_t key(std::uint8_t slot) { return static_cast<std::uint16_t>(0x0100 | slot); }

// Data objects: 7F61, 5FC1xx and 5FFFxx are storable; 0 means "not a storable object".
constexpr std::uint16_t object(std::uint32_t id) {
  if (id == 0x7F61) return 0x2000;
  if (id >= 0x5FC101 && id <= 0x5FC123) return static_cast<std::uint16_t>(0x2100 | (id & 0xFF));
  if (id >= 0x5FFF00 && id <= 0x5FFF15) return static_cast<std::uint16_t>(0x2200 | (id & 0xFF));
  return 0;
}
}  // namespace record

// Token policy flags (TOKEN INFO tag 05), fixed at personalisation.
using protocol::kPolicyRequirePinChange;

struct TokenConfig {
  std::uint8_t serial[4];
  std::uint8_t medium;
  std::uint8_t policy;
  std::uint8_t salt[16];  // per-token salt of the PIN/PUK hashes
};

struct ChangeCounter {
  std::uint8_t value[4];
};

// PIN or PUK: SHA-256(salt || 8-byte padded block), and whether it is still the default.
struct SecretHash {
  std::uint8_t is_default;
  std::uint8_t hash[32];
};

struct ManagementKey {
  std::uint8_t algorithm;
  std::uint8_t touch_policy;
  std::uint8_t is_default;
  std::uint8_t key[32];
};

struct UnlockKey {
  std::uint8_t key[32];
};

struct KeyHeader {
  std::uint8_t algorithm;
  std::uint8_t pin_policy;
  std::uint8_t touch_policy;
  std::uint8_t origin;
};

struct KeyRecord {
  KeyHeader header;
  union {
    hal::RsaPrivateKey rsa;
    hal::EcPrivateKey ec;
  };
};

}  // namespace certkey::agent::piv
