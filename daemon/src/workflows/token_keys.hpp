// Keys on the token as the workflows use them, through PKCS#11 only: which algorithm a key
// has, its public key as an OpenSSL key, a new key pair, and a signature over a message in
// the form X.509 and JOSE expect.
#pragma once
#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "../pkcs11/pkcs11_client.hpp"

namespace certkey::daemon {

enum class KeyAlgorithm { ec_p256, ec_p384, rsa_2048 };

// "ecc-p256", "ecc-p384", "rsa-2048": the names the API uses.
std::string_view algorithm_name(KeyAlgorithm algorithm);
std::optional<KeyAlgorithm> algorithm_from_name(std::string_view name);

using PublicKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

struct TokenKey {
  CK_OBJECT_HANDLE private_key = 0;  // 0 when the session is not logged in
  bool always_authenticate = false;  // needs the PIN for each signature (PIV 9C)
  CK_OBJECT_HANDLE public_key = 0;
  KeyAlgorithm algorithm = KeyAlgorithm::ec_p256;
  PublicKey public_value{nullptr, EVP_PKEY_free};
};

// The key pair with this CKA_ID; its private key only when the session is logged in.
// Nothing when there is none or its algorithm is not one of ours.
std::optional<TokenKey> find_key(pkcs11::Session& session, const pkcs11::Bytes& id);
// A new key pair with this CKA_ID, kept on the token.
TokenKey generate_key(pkcs11::Session& session, const pkcs11::Bytes& id, KeyAlgorithm algorithm);
// The algorithm of a certificate's public key.
std::optional<KeyAlgorithm> algorithm_of(EVP_PKEY* key);

// Signs `message` on the token: SHA-256 (P-256, RSA) or SHA-384 (P-384), ECDSA or
// PKCS#1 v1.5. ECDSA signatures come as r || s, as PKCS#11 and JOSE have them. `pin` is
// used again for a key that needs it for each use.
pkcs11::Bytes sign_message(pkcs11::Session& session, const TokenKey& key,
                           const pkcs11::Bytes& message, std::string_view pin);
// Whether the token's public key of slot `id` is `expected`.
bool holds_key(pkcs11::Session& session, const pkcs11::Bytes& id, EVP_PKEY* expected);

}  // namespace certkey::daemon
