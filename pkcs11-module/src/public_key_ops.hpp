// What the module does in software with a token key's public half (docs/pkcs11.md, section
// 9.7): signature verification and RSA encryption, with OpenSSL. No APDU is involved; the
// private half never leaves the token and is not needed.
#pragma once
#include <optional>

#include "encoding.hpp"

namespace certkey::p11 {

enum class RsaPadding { pkcs1, raw, oaep, pss };

struct PublicKeyOperation {
  RsaPadding padding = RsaPadding::pkcs1;  // RSA keys only
  Hash hash = Hash::none;                  // PSS and OAEP
  Hash mgf1 = Hash::none;
  std::size_t salt_length = 0;  // PSS
  Bytes label;                  // OAEP
};

// Verifies `signature` over `input`, which is what the token would have been given to sign:
// - EC keys: the digest (any length; ECDSA uses its leftmost bits) and r || s;
// - RSA pkcs1: the DigestInfo or other data that was padded (block type 1);
// - RSA raw: the whole block, right-aligned in the modulus;
// - RSA pss: the message digest.
// Returns nothing when the key itself cannot be used.
std::optional<bool> verify_signature(const PublicKeyParts& key, const PublicKeyOperation& op,
                                     const Bytes& input, const Bytes& signature);

// RSA encryption with pkcs1 (block type 2), raw or oaep padding; nothing when `data` does not
// fit or the key cannot be used.
std::optional<Bytes> rsa_encrypt(const PublicKeyParts& key, const PublicKeyOperation& op,
                                 const Bytes& data);

// The most data rsa_encrypt takes for a modulus of `modulus_bytes`.
std::size_t rsa_encrypt_capacity(const PublicKeyOperation& op, std::size_t modulus_bytes);

}  // namespace certkey::p11
