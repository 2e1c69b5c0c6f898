// The test CA's issuing side (examples/ca, docs/test-ca.md): an issuing CA read from files
// the openssl command line made, which issues certificates for requests, mints the TLS
// certificate of its own server, answers OCSP for what it issued, and checks the renewal
// authorization certkeyd signs (docs/daemon.md, "The renewal authorization").
#pragma once
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/ssl.h>
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
  X509Ptr check_authorization(const std::string& jws, X509_REQ* request,
                              const std::string& origin = {}) const;
  // The renewal endpoint's {"csr": PEM, "authorization": JWS}, checked as above: the request
  // it authorises. Throws Refusal.
  RequestPtr authorized_request(const std::string& csr_pem, const std::string& jws,
                                const std::string& origin = {}) const;
  // The renewal endpoint's answer: {"certificate": PEM, "chain": the issuing CA, PEM}.
  nlohmann::json issued_answer(X509* certificate) const;
  // A TLS server context that presents a certificate this CA mints for 127.0.0.1, localhost
  // and `host`, with the issuing CA as its chain.
  void serve_tls_as_minted(SSL_CTX* ctx, const std::string& host = {});

 private:
  // The server's own TLS certificate and key, for 127.0.0.1 and localhost, and `host` too
  // when given (a portal's public name).
  std::pair<X509Ptr, KeyPtr> mint_server_certificate(const std::string& host = {});
  X509Ptr check_jws(const std::string& jws, X509_REQ* request, const std::string& origin) const;
  X509Ptr sign_certificate(X509_NAME* subject, EVP_PKEY* key,
                           const std::vector<std::string>& extensions);
  std::string serial_status(const ASN1_INTEGER* serial) const;

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
Bytes base64_decode(const std::string& text);   // ignores whitespace; throws Refusal
std::string base64_encode(const Bytes& bytes);  // with line breaks every 64 characters

}  // namespace certkey::test_ca
