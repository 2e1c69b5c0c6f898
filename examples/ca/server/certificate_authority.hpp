// The test CA's issuing side (examples/ca, docs/test-ca.md): an issuing CA read from files
// the openssl command line made, which issues certificates for requests, mints the TLS
// certificate of its own server, answers OCSP for what it issued, and checks the renewal
// authorization certkeyd signs (docs/daemon.md, "The renewal authorization").
#pragma once
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace certkey::test_ca {

using Bytes = std::vector<std::uint8_t>;
template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Free<EVP_PKEY, EVP_PKEY_free>>;
using RequestPtr = std::unique_ptr<X509_REQ, Free<X509_REQ, X509_REQ_free>>;

// What a client sent that the CA will not act on; the server answers 400 with the reason.
class Refusal : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CertificateAuthority {
 public:
  // DIR holds root.pem, issuing.pem and issuing.key; what it issues is recorded under
  // DIR/issued, and a certificate is revoked by a file DIR/revoked/SERIAL (hex).
  CertificateAuthority(std::string dir, int validity_days);

  // A certificate for the request's key and subject, with the OCSP URL in its AIA. Throws
  // Refusal for a request whose signature does not verify.
  X509Ptr issue(X509_REQ* request, const std::string& ocsp_url);
  // The server's own TLS certificate and key, for 127.0.0.1 and localhost, and `host` too
  // when given (a portal's public name).
  std::pair<X509Ptr, KeyPtr> mint_server_certificate(const std::string& host = {});
  // Marks `certificate` revoked for the OCSP responder; returns its serial (hex).
  std::string revoke(X509* certificate);
  // Whether `certificate` chains to this CA (issued by its issuing CA, valid now).
  bool issued_by_us(X509* certificate) const;

  X509* issuing() const { return issuing_.get(); }
  X509* root() const { return root_.get(); }

  // RFC 7030 section 4.1.3: a degenerate certs-only SignedData, DER.
  Bytes certs_only(const std::vector<X509*>& certificates) const;
  // RFC 6960: the answer to a DER OCSP request, signed by the issuing CA.
  Bytes ocsp_response(const Bytes& request_der);
  // The renewal authorization (a compact JWS with x5c) for this request: signature by the
  // x5c certificate's key, that certificate ours, csr_sha256 the request's, iat within five
  // minutes; and, when `origin` is given, the payload's origin that one (a portal's own: a
  // renewal begun by another site is not the portal's to issue). Returns the certificate
  // being renewed. Throws Refusal.
  X509Ptr check_authorization(const std::string& jws, X509_REQ* request, const std::string& origin = {}) const;

 private:
  X509Ptr check_jws(const std::string& jws, X509_REQ* request, const std::string& origin) const;
  X509Ptr sign_certificate(X509_NAME* subject, EVP_PKEY* key, const std::vector<std::string>& extensions);
  std::string serial_status(const ASN1_INTEGER* serial);

  std::string dir_;
  int validity_days_;
  X509Ptr root_, issuing_;
  KeyPtr issuing_key_;
  std::mutex mutex_;  // serials and the issued records
};

// PEM of one certificate; DER of a request from base64 or PEM text.
std::string pem_of(X509* certificate);
RequestPtr request_from_der(const Bytes& der);
RequestPtr request_from_pem(const std::string& pem);
Bytes base64_decode(const std::string& text);  // ignores whitespace; throws Refusal
std::string base64_encode(const Bytes& bytes);  // with line breaks every 64 characters

}  // namespace certkey::test_ca
