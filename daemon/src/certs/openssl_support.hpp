// Owning handles for the OpenSSL objects the certificate-status code uses, and the few
// conversions it shares. Internal to daemon/src/certs: callers see only X509Ptr.
#pragma once
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../core/c_free.hpp"

namespace certkey::daemon {

// Spelled as in workflows/issued_certificate.hpp, so that both headers can meet in one file.
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

namespace certs {

// The stack only: its certificates belong to someone else.
inline void free_x509_stack(STACK_OF(X509) * stack) { sk_X509_free(stack); }

using Bio = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using Store = std::unique_ptr<X509_STORE, Free<X509_STORE, X509_STORE_free>>;
using StoreContext = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX, X509_STORE_CTX_free>>;
using X509Stack = std::unique_ptr<STACK_OF(X509), Free<STACK_OF(X509), free_x509_stack>>;
using Crl = std::unique_ptr<X509_CRL, Free<X509_CRL, X509_CRL_free>>;
using OcspRequest = std::unique_ptr<OCSP_REQUEST, Free<OCSP_REQUEST, OCSP_REQUEST_free>>;
using OcspResponse = std::unique_ptr<OCSP_RESPONSE, Free<OCSP_RESPONSE, OCSP_RESPONSE_free>>;
using OcspBasic = std::unique_ptr<OCSP_BASICRESP, Free<OCSP_BASICRESP, OCSP_BASICRESP_free>>;
using OcspCertId = std::unique_ptr<OCSP_CERTID, Free<OCSP_CERTID, OCSP_CERTID_free>>;

inline X509Ptr adopt(X509* certificate) { return X509Ptr(certificate, X509_free); }
// Takes the certificates out of a stack that owns them (X509_STORE_CTX_get1_chain), and frees it.
std::vector<X509Ptr> adopt_all(STACK_OF(X509) * stack);

// OpenSSL leaves an entry on the thread's error queue for every failure, and the code that
// runs next on that thread may read it as its own: each public entry point empties it on
// the way out.
class ErrorQueueGuard {
 public:
  ErrorQueueGuard() = default;
  ~ErrorQueueGuard() { ERR_clear_error(); }
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
};

// An RFC 2253 name ("CN=Issuing CA,O=Example"), as the API shows names.
std::string name_text(const X509_NAME* name);
std::string subject_text(const X509* certificate);
// ISO 8601 in UTC ("2026-12-07T05:40:32Z").
std::string time_text(std::time_t time);
std::optional<std::time_t> to_time(const ASN1_TIME* time);
std::string time_text(const ASN1_TIME* time);  // "?" when it is not a time

}  // namespace certs
}  // namespace certkey::daemon
