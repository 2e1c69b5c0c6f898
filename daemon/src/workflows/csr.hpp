// PKCS#10 certificate requests whose signature is made elsewhere (on the token): the daemon
// builds the request body with OpenSSL and hands the digest to a signer.
#pragma once
#include <openssl/types.h>

#include <functional>
#include <string>
#include <vector>

namespace certkey::daemon {

// Takes a SHA-256 digest, returns the raw ECDSA signature r || s (64 bytes for P-256).
using EcdsaSigner = std::function<std::vector<std::uint8_t>(const std::vector<std::uint8_t>& digest)>;

// A P-256 public key from its uncompressed point (04 || X || Y).
EVP_PKEY* p256_public_key(const std::vector<std::uint8_t>& point);

// A PEM request for `key` with `subject` (DER X509_NAME), signed by `sign` with ECDSA-SHA256;
// it is checked against `key` before it is returned. Throws ApiError on failure.
std::string make_csr_pem(EVP_PKEY* key, const std::vector<std::uint8_t>& subject_der, const EcdsaSigner& sign);

}  // namespace certkey::daemon
