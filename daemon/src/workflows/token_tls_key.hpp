// An OpenSSL key whose private half stays on the token, for TLS client authentication with a
// certificate the token holds (EST, RFC 7030 section 3.3.2): libssl signs the handshake
// through it, and each signature is a PKCS#11 CKM_ECDSA signature of the digest libssl
// computed. ECDSA keys only (P-256, P-384): TLS 1.3 signs with them as they are, where an RSA
// key would need raw RSA for RSA-PSS, which PIV keys on this token do not offer.
#pragma once
#include <openssl/evp.h>

#include <memory>
#include <string_view>

#include "../pkcs11/pkcs11_client.hpp"
#include "token_keys.hpp"

namespace certkey::daemon {

class TokenTlsKey {
 public:
  // `session` is logged in and outlives this; `pin` is for a key that needs it on every use.
  // Throws ApiError(bad_request) for an RSA key.
  TokenTlsKey(pkcs11::Session& session, const TokenKey& key, std::string_view pin);
  ~TokenTlsKey();
  TokenTlsKey(const TokenTlsKey&) = delete;
  TokenTlsKey& operator=(const TokenTlsKey&) = delete;

  EVP_PKEY* get() const { return key_.get(); }

  struct Signer;  // what the signing callback reaches through the key's ex_data

 private:
  std::unique_ptr<Signer> signer_;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
};

}  // namespace certkey::daemon
