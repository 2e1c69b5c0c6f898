// Algorithm identifiers (SP 800-78-4 Table 6-2, plus Yubico's AES values) and key references
// (SP 800-73-4 Table 4).
#pragma once
#include <cstdint>

namespace certkey::protocol {

enum class Algorithm : std::uint8_t {
  tdes = 0x03,
  rsa3072 = 0x05,
  rsa1024 = 0x06,
  rsa2048 = 0x07,
  aes128 = 0x08,
  aes192 = 0x0A,
  aes256 = 0x0C,
  ecc_p256 = 0x11,
  ecc_p384 = 0x14,
};

// The key algorithms of the token command set, with what each layer needs to know of them: one
// row each, so that a new algorithm (SM2 next) is a row here and the code that reads the row.
enum class KeyFamily : std::uint8_t { rsa, ec };

struct KeyAlgorithm {
  Algorithm id;
  KeyFamily family;
  std::uint16_t bits;             // modulus or field size
  std::uint8_t field_bytes;       // EC: one coordinate; RSA: 0
  std::uint16_t signature_bytes;  // RSA: the modulus; EC: r || s
  const std::uint8_t* curve_oid;  // EC: the named curve's OID, its DER contents
  std::uint8_t curve_oid_length;
  const char* curve_name;  // EC: the NIST name ("P-256"), which OpenSSL also takes
};

// SEC 2 and RFC 5480: 1.2.840.10045.3.1.7 (P-256) and 1.3.132.0.34 (P-384).
inline constexpr std::uint8_t kOidP256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
inline constexpr std::uint8_t kOidP384[] = {0x2B, 0x81, 0x04, 0x00, 0x22};

inline constexpr KeyAlgorithm kKeyAlgorithms[] = {
    {Algorithm::rsa2048, KeyFamily::rsa, 2048, 0, 256, nullptr, 0, ""},
    {Algorithm::ecc_p256, KeyFamily::ec, 256, 32, 64, kOidP256, sizeof kOidP256, "P-256"},
    {Algorithm::ecc_p384, KeyFamily::ec, 384, 48, 96, kOidP384, sizeof kOidP384, "P-384"},
};

// The row of a key algorithm byte; nullptr for the management-key algorithms and any unknown
// byte.
constexpr const KeyAlgorithm* key_algorithm(std::uint8_t id) {
  for (const KeyAlgorithm& a : kKeyAlgorithms) {
    if (static_cast<std::uint8_t>(a.id) == id) return &a;
  }
  return nullptr;
}

enum class KeyRef : std::uint8_t {
  pin = 0x80,
  puk = 0x81,
  management = 0x9B,
  authentication = 0x9A,  // slot 9A, PIV Authentication
  signature = 0x9C,       // slot 9C, Digital Signature
  key_management = 0x9D,  // slot 9D, Key Management (encryption)
  card_authentication = 0x9E,
  retired_first = 0x82,  // 82..95: retired key management keys
  retired_last = 0x95,
  attestation = 0xF9,  // Yubico-compatible attestation key
};

// PIN and touch policies of a key (Yubico tags AA/AB values).
enum class PinPolicy : std::uint8_t { default_policy = 0, never = 1, once = 2, always = 3 };
enum class TouchPolicy : std::uint8_t { default_policy = 0, never = 1, always = 2, cached = 3 };

// Origin of a key, reported in metadata.
enum class KeyOrigin : std::uint8_t { generated = 1, imported = 2 };

// Medium a token is delivered on (DESIGN.md section 1). Reported by TOKEN INFO.
enum class Medium : std::uint8_t { smartcard = 0, sim = 1, usb_key = 2, sd_key = 3 };

constexpr bool is_asymmetric_slot(std::uint8_t ref) {
  return ref == 0x9A || ref == 0x9C || ref == 0x9D || ref == 0x9E || ref == 0xF9 ||
         (ref >= 0x82 && ref <= 0x95);
}

// The slots that hold the holder's keys: every asymmetric slot but the attestation slot F9,
// which belongs to the token. GENERATE, MOVE KEY, ATTEST and SWAP SLOTS take these.
constexpr bool is_user_key_slot(std::uint8_t ref) {
  return is_asymmetric_slot(ref) && ref != static_cast<std::uint8_t>(KeyRef::attestation);
}

}  // namespace certkey::protocol
