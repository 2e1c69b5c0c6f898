// A self-signed P-256 certificate with a fresh key, for tests that store certificates on a
// token: the subject's common name sets its length.
#pragma once
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>
#include <vector>

namespace certkey::test {

inline std::vector<std::uint8_t> self_signed_certificate(const std::string& common_name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_set_pubkey(x, key);
  X509_sign(x, key, EVP_sha256());
  const int length = i2d_X509(x, nullptr);
  std::vector<std::uint8_t> der(static_cast<std::size_t>(length > 0 ? length : 0));
  unsigned char* out = der.data();
  i2d_X509(x, &out);
  X509_free(x);
  EVP_PKEY_free(key);
  return der;
}

}  // namespace certkey::test
