// PKCS#10 certificate requests whose signature is made elsewhere (on the token): the daemon
// builds the request body with OpenSSL and hands it to a signer.
#pragma once
#include <openssl/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "token_keys.hpp"

namespace certkey::daemon {

// Signs the request body (the whole message) with the new key: r || s for ECDSA, the
// PKCS#1 v1.5 signature for RSA (sign_message).
using MessageSigner =
    std::function<std::vector<std::uint8_t>(const std::vector<std::uint8_t>& message)>;

struct Csr {
  std::string pem;
  std::vector<std::uint8_t> der;
};

// A request for `key` (of `algorithm`) with `subject` (DER X509_NAME); it is checked against
// `key` before it is returned. Throws ApiError on failure.
Csr make_csr(EVP_PKEY* key, KeyAlgorithm algorithm, const std::vector<std::uint8_t>& subject_der,
             const MessageSigner& sign);

// An ECDSA signature r || s (each half one integer) as the DER ECDSA-Sig-Value X.509 uses.
std::vector<std::uint8_t> der_ecdsa_signature(const std::vector<std::uint8_t>& raw);

}  // namespace certkey::daemon
