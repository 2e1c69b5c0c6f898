// Cryptography the token needs, on fixed-size key structures. A microcontroller port maps
// these onto its crypto accelerator; hal-host maps them onto OpenSSL 3.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/bytes.hpp"

namespace certkey::agent::hal {

inline constexpr std::size_t kRsaMaxBytes = 256;  // RSA-2048
inline constexpr std::size_t kRsaHalfBytes = kRsaMaxBytes / 2;
inline constexpr std::size_t kEcMaxScalar = 48;  // P-384
inline constexpr std::size_t kEcMaxPoint = 1 + 2 * kEcMaxScalar;
inline constexpr std::size_t kEcdsaMaxDer = 2 + 2 * (3 + kEcMaxScalar);

enum class Curve : std::uint8_t { p256, p384 };
constexpr std::size_t scalar_size(Curve c) { return c == Curve::p256 ? 32 : 48; }
constexpr std::size_t point_size(Curve c) { return 1 + 2 * scalar_size(c); }

// Big-endian, each field left-padded to its full width. Only byte arrays: the layout has no
// padding, so the structure is also its storage image.
struct RsaPrivateKey {
  std::uint8_t n[kRsaMaxBytes];
  std::uint8_t e[4];
  std::uint8_t p[kRsaHalfBytes];
  std::uint8_t q[kRsaHalfBytes];
  std::uint8_t dp[kRsaHalfBytes];
  std::uint8_t dq[kRsaHalfBytes];
  std::uint8_t qinv[kRsaHalfBytes];
};

struct EcPrivateKey {
  std::uint8_t d[kEcMaxScalar];     // scalar_size(curve) bytes used
  std::uint8_t point[kEcMaxPoint];  // uncompressed 04 || X || Y, point_size(curve) bytes used
};

enum class BlockCipher : std::uint8_t { tdes, aes128, aes192, aes256 };
constexpr std::size_t block_size(BlockCipher c) { return c == BlockCipher::tdes ? 8 : 16; }
constexpr std::size_t key_size(BlockCipher c) {
  return c == BlockCipher::tdes     ? 24
         : c == BlockCipher::aes128 ? 16
         : c == BlockCipher::aes192 ? 24
                                    : 32;
}

class Crypto {
 public:
  // RSA-2048 with e = 65537.
  virtual bool rsa_generate(RsaPrivateKey& out) = 0;
  // Fills n and e (65537) from the CRT parts of an imported key and checks consistency.
  virtual bool rsa_complete(RsaPrivateKey& key) = 0;
  // Raw private-key operation: in and out are kRsaMaxBytes long.
  virtual bool rsa_private(const RsaPrivateKey& key, Bytes in, MutableBytes out) = 0;

  virtual bool ec_generate(Curve curve, EcPrivateKey& out) = 0;
  // Computes the public point of an imported scalar and checks it is in range.
  virtual bool ec_complete(Curve curve, EcPrivateKey& key) = 0;
  // Signs a digest (already hashed by the host) and writes the DER ECDSA signature.
  virtual bool ecdsa_sign(Curve curve, const EcPrivateKey& key, Bytes digest, MutableBytes out,
                          std::size_t& out_length) = 0;
  // ECDH: writes the X coordinate of d * peer (scalar_size(curve) bytes).
  virtual bool ecdh(Curve curve, const EcPrivateKey& key, Bytes peer_point, MutableBytes out) = 0;

  // One block in ECB mode: the management-key challenge/response.
  virtual bool block_encrypt(BlockCipher cipher, Bytes key, Bytes in, MutableBytes out) = 0;
  virtual bool block_decrypt(BlockCipher cipher, Bytes key, Bytes in, MutableBytes out) = 0;

  virtual bool aes_cmac(Bytes key, Bytes message, MutableBytes out16) = 0;
  virtual void sha256(Bytes message, MutableBytes out32) = 0;

 protected:
  ~Crypto() = default;
};

}  // namespace certkey::agent::hal
