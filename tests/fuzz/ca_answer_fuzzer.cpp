// What a CA's server answers to certkeyd's enrolment (daemon/src/workflows/enrolment.hpp):
// EST's base64 certs-only PKCS#7 and the renewal endpoint's JSON. Anything the network sends
// is a ca_refused error at worst, never a crash.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error_code.hpp"
#include "workflows/enrolment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static EVP_PKEY* const requested_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  const std::vector<std::uint8_t> body(data, data + size);
  try {
    certkey::daemon::parse_est_answer(body, requested_key);
  } catch (const certkey::daemon::ApiError&) {
  }
  try {
    certkey::daemon::parse_endpoint_answer(body);
  } catch (const certkey::daemon::ApiError&) {
  }
  return 0;
}
