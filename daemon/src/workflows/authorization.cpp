#include "authorization.hpp"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include "../core/base64.hpp"

namespace certkey::daemon {

const char* jws_algorithm(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::ec_p256: return "ES256";
    case KeyAlgorithm::ec_p384: return "ES384";
    case KeyAlgorithm::rsa_2048: break;
  }
  return "RS256";
}

std::string make_authorization(const std::vector<std::uint8_t>& current_certificate_der,
                               KeyAlgorithm algorithm, const AuthorizationClaims& claims,
                               const MessageSigner& sign) {
  std::uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(claims.csr_der.data(), claims.csr_der.size(), digest);
  // x5c is standard base64, not base64url (RFC 7515 section 4.1.6).
  const nlohmann::json header = {{"alg", jws_algorithm(algorithm)},
                                 {"typ", "certkey-renewal+jws"},
                                 {"x5c", {base64(current_certificate_der)}}};
  const nlohmann::json payload = {{"renewal", claims.renewal_id},
                                  {"origin", claims.origin},
                                  {"csr_sha256", base64url(digest, sizeof digest)},
                                  {"iat", claims.issued_at}};
  const std::string signing_input = base64url(header.dump()) + "." + base64url(payload.dump());
  const std::vector<std::uint8_t> signature = sign({signing_input.begin(), signing_input.end()});
  return signing_input + "." + base64url(signature);
}

}  // namespace certkey::daemon
