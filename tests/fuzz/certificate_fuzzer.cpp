// libFuzzer target for the PKCS#11 module's certificate reader (parse_certificate in
// pkcs11-module/src/encoding.cpp), which takes whatever a token holds as a certificate. It walks
// the DER itself rather than through d2i_X509, so OpenSSL is the reference: a certificate both
// read must give the same subject, issuer, serial number and public key, and anything the
// module reads must be parts of the input.
#include <openssl/x509.h>

#include <algorithm>
#include <climits>

#include "encoding.hpp"

namespace {

using certkey::p11::Bytes;

Bytes i2d_bytes(const void* object, int (*i2d)(const void*, unsigned char**)) {
  const int length = i2d(object, nullptr);
  if (length <= 0) return {};
  Bytes out(static_cast<std::size_t>(length));
  unsigned char* p = out.data();
  i2d(object, &p);
  return out;
}

template <typename T>
auto erased(int (*i2d)(T*, unsigned char**)) {
  return reinterpret_cast<int (*)(const void*, unsigned char**)>(i2d);
}

bool within(const Bytes& part, const Bytes& whole) {
  return part.empty() ||
         std::search(whole.begin(), whole.end(), part.begin(), part.end()) != whole.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes der(data, data + size);
  const std::optional<certkey::p11::CertificateFields> fields =
      certkey::p11::parse_certificate(der);
  if (fields && !(within(fields->subject, der) && within(fields->issuer, der) &&
                  within(fields->serial_number, der) && within(fields->spki, der))) {
    __builtin_trap();
  }
  const unsigned char* p = data;
  X509* cert = size <= LONG_MAX ? d2i_X509(nullptr, &p, static_cast<long>(size)) : nullptr;
  // OpenSSL keeps a certificate's original encoding only when it re-encodes to the same bytes.
  // It also reads some encodings DER forbids (a SEQUENCE tagged primitive), which the module
  // may refuse; tests/unit/p11/encoding_test.cpp holds it to reading well-formed certificates.
  if (fields && cert != nullptr && p == data + size && i2d_bytes(cert, erased(i2d_X509)) == der) {
    // OpenSSL encodes a key's BIT STRING again in its own way (unused bits cleared); the
    // module passes the certificate's own bytes on. So the key is compared where OpenSSL's
    // encoding is the certificate's.
    Bytes spki = i2d_bytes(X509_get_X509_PUBKEY(cert), erased(i2d_X509_PUBKEY));
    if (!within(spki, der)) spki.clear();
    if (fields->subject != i2d_bytes(X509_get_subject_name(cert), erased(i2d_X509_NAME)) ||
        fields->issuer != i2d_bytes(X509_get_issuer_name(cert), erased(i2d_X509_NAME)) ||
        fields->serial_number !=
            i2d_bytes(X509_get0_serialNumber(cert), erased(i2d_ASN1_INTEGER)) ||
        (!spki.empty() && fields->spki != spki)) {
      __builtin_trap();
    }
  }
  X509_free(cert);
  return 0;
}
