// The host's side of the PIV tests: what a client computes with OpenSSL to talk to the token
// and to check what it answers (management-key cryptograms, signatures, ECDH, certificates).
// Test code only: it allocates freely and reports failures as empty results.
#pragma once
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <certkey/protocol/algorithms.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace certkey::agent::test {

using Buffer = std::vector<std::uint8_t>;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Certificate = std::unique_ptr<X509, X509Free>;

// One ECB block with the management-key algorithm (3DES or AES-128/192/256).
Buffer block_encrypt(protocol::Algorithm algorithm, const Buffer& key, const Buffer& block);
Buffer block_decrypt(protocol::Algorithm algorithm, const Buffer& key, const Buffer& block);

Buffer aes_cmac(const Buffer& key, const Buffer& message);
Buffer sha256(const Buffer& message);
Buffer sha384(const Buffer& message);
Buffer random_bytes(std::size_t n);

// EC keys: "P-256" or "P-384".
Pkey ec_generate(const char* group);
Pkey ec_public_key(const char* group, const Buffer& point);
Buffer ec_point(EVP_PKEY* key);  // uncompressed 04 || X || Y
Buffer ec_private_scalar(EVP_PKEY* key, std::size_t size);
// A big-number parameter of a key (OSSL_PKEY_PARAM_*), big-endian, left-padded to `size`.
Buffer bn_param(EVP_PKEY* key, const char* name, std::size_t size);
Buffer ecdh(EVP_PKEY* own, EVP_PKEY* peer);
bool ecdsa_verify(EVP_PKEY* key, const Buffer& digest, const Buffer& der_signature);

// RSA keys. The shared key is generated once per test binary (RSA generation is slow).
EVP_PKEY* shared_rsa_key();
Pkey rsa_public_key(const Buffer& modulus, const Buffer& exponent);

// EMSA-PKCS1-v1_5 encoding of SHA-256(message) to `size` bytes: what a host sends to sign.
Buffer pkcs1_sha256_block(const Buffer& message, std::size_t size);
bool rsa_verify_pkcs1_sha256(EVP_PKEY* key, const Buffer& message, const Buffer& signature);
Buffer rsa_encrypt_pkcs1(EVP_PKEY* key, const Buffer& message);

Certificate parse_certificate(const Buffer& der);
Buffer name_der(X509_NAME* name);

}  // namespace certkey::agent::test
