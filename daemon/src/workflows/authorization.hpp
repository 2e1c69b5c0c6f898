// The renewal authorization (docs/daemon.md, "The renewal authorization"): a JWS (RFC 7515,
// compact serialization) signed on the token by the key of the certificate being renewed.
// Its header carries that certificate in x5c; its payload binds the request's SHA-256, the
// origin that asked, the renewal id and the time. A CA checks it with any JOSE library, or
// with the openssl command line, and needs no certkey code.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "csr.hpp"

namespace certkey::daemon {

struct AuthorizationClaims {
  std::string renewal_id;
  std::string origin;  // "" for a program on this computer
  std::vector<std::uint8_t> csr_der;
  std::int64_t issued_at = 0;  // seconds since the epoch
};

// "ES256" (P-256), "ES384" (P-384), "RS256" (RSA): RFC 7518 section 3.1.
const char* jws_algorithm(KeyAlgorithm algorithm);

// `sign` signs with the current certificate's key, of `algorithm` (sign_message's forms,
// which are JWS's: r || s for ECDSA).
std::string make_authorization(const std::vector<std::uint8_t>& current_certificate_der,
                               KeyAlgorithm algorithm, const AuthorizationClaims& claims,
                               const MessageSigner& sign);

}  // namespace certkey::daemon
