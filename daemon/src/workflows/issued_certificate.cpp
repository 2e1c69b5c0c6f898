#include "issued_certificate.hpp"

#include <openssl/pem.h>

#include "../certs/trust_store.hpp"
#include "../core/error_code.hpp"

namespace certkey::daemon {

X509Ptr x509_from_der(const std::vector<std::uint8_t>& der) {
  const unsigned char* p = der.data();
  X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
  // Trailing bytes after the certificate are refused, as the module refuses them.
  if (certificate && p != der.data() + der.size()) certificate.reset();
  return certificate;
}

X509Ptr x509_from_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return X509Ptr(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr,
                 X509_free);
}

namespace {

// OpenSSL's i2d convention: called once for the length, then to write.
template <typename T>
std::vector<std::uint8_t> encoded(int (*i2d)(const T*, unsigned char**), const T* object) {
  const int n = i2d(object, nullptr);
  if (n <= 0) return {};
  std::vector<std::uint8_t> der(static_cast<std::size_t>(n));
  unsigned char* p = der.data();
  i2d(object, &p);
  return der;
}

}  // namespace

std::vector<std::uint8_t> der_of(X509* certificate) { return encoded(i2d_X509, certificate); }

std::vector<std::uint8_t> der_of(X509_REQ* request) { return encoded(i2d_X509_REQ, request); }

std::string pem_of(X509* certificate) {
  std::unique_ptr<BIO, decltype(&BIO_free)> out(BIO_new(BIO_s_mem()), BIO_free);
  if (!out || PEM_write_bio_X509(out.get(), certificate) != 1)
    throw ApiError(ErrorCode::internal_error, "cannot write PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::vector<std::uint8_t> der_of(const X509_NAME* name) {
  const int n = i2d_X509_NAME(name, nullptr);
  if (n <= 0) return {};
  std::vector<std::uint8_t> der(static_cast<std::size_t>(n));
  unsigned char* p = der.data();
  i2d_X509_NAME(name, &p);
  return der;
}

IssuedCertificate parse_issued(const std::string& certificate_pem, const std::string& chain_pem) {
  IssuedCertificate issued;
  try {
    std::vector<X509Ptr> leaf = parse_pem_bundle(certificate_pem);
    if (leaf.size() != 1)
      throw ApiError(ErrorCode::bad_request, "\"certificate\" holds more than one certificate");
    issued.certificate = std::move(leaf.front());
    if (!chain_pem.empty()) issued.chain = parse_pem_bundle(chain_pem);
  } catch (const CertificateError& e) {
    throw ApiError(ErrorCode::bad_request, e.what());
  }
  issued.der = der_of(issued.certificate.get());
  // What is stored and compared later is the certificate alone, re-encoded from its DER.
  issued.pem = pem_of(issued.certificate.get());
  return issued;
}

void check_issued(const IssuedCertificate& issued, EVP_PKEY* key, const X509_NAME* subject,
                  const TrustStore& trust) {
  X509* certificate = issued.certificate.get();
  if (!key || EVP_PKEY_eq(X509_get0_pubkey(certificate), key) != 1)
    throw ApiError(ErrorCode::certificate_mismatch);
  if (subject && X509_NAME_cmp(X509_get_subject_name(certificate), subject) != 0) {
    throw ApiError(ErrorCode::certificate_wrong_subject);
  }
  if (trust.empty())
    throw ApiError(ErrorCode::certificate_untrusted,
                   "no trust anchors are configured ([trust] anchors)");
  std::vector<X509*> chain;
  for (const X509Ptr& c : issued.chain) chain.push_back(c.get());
  const TrustStore::Result result = trust.verify(certificate, chain, std::time(nullptr));
  switch (result.status) {
    case TrustStore::Status::valid: return;
    case TrustStore::Status::expired:
    case TrustStore::Status::not_yet_valid:
      throw ApiError(ErrorCode::certificate_not_valid_now, result.detail);
    case TrustStore::Status::untrusted: break;
  }
  throw ApiError(ErrorCode::certificate_untrusted, result.detail);
}

}  // namespace certkey::daemon
