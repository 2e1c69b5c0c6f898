// A certificate the CA sent back (completeRenewal, changeCertificate), and the checks it must
// pass before anything is written to the token: it certifies the expected key, carries the
// expected subject, is valid now, and chains to a configured anchor through the given or
// configured intermediates (docs/daemon.md, "Certificates from the CA").
#pragma once
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace certkey::daemon {

class TrustStore;

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

struct IssuedCertificate {
  X509Ptr certificate{nullptr, X509_free};
  std::vector<X509Ptr> chain;  // as the caller gave it, leaf's issuer first
  std::vector<std::uint8_t> der;
  std::string pem;
};

// Parses the request's PEM certificate and optional PEM chain. Throws ApiError(bad_request).
IssuedCertificate parse_issued(const std::string& certificate_pem, const std::string& chain_pem);

// Throws ApiError: certificate_mismatch (another key), certificate_wrong_subject,
// certificate_not_valid_now, certificate_untrusted.
void check_issued(const IssuedCertificate& issued, EVP_PKEY* key, const X509_NAME* subject,
                  const TrustStore& trust);

X509Ptr x509_from_der(const std::vector<std::uint8_t>& der);
X509Ptr x509_from_pem(const std::string& pem);
std::vector<std::uint8_t> der_of(X509* certificate);
std::vector<std::uint8_t> der_of(const X509_NAME* name);
std::vector<std::uint8_t> der_of(X509_REQ* request);
// Throws ApiError(internal_error) when it cannot be written.
std::string pem_of(X509* certificate);

}  // namespace certkey::daemon
