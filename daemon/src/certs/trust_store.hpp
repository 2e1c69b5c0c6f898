// The configured trust anchors and intermediates ([trust] in certkeyd.toml), and path
// validation against them (RFC 5280 §6) with OpenSSL's verifier at a time the caller gives.
// Only the configured anchors are trusted: no system paths, and no partial chains, so a path
// must end at a configured root. Revocation is not part of this (revocation.hpp).
#pragma once
#include <openssl/x509.h>

#include <cstddef>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "openssl_support.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace certkey::daemon {

// A certificate file or PEM text that cannot be used; the message names the file.
class CertificateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A chain an API caller sends: a few certificates, not a CA bundle.
inline constexpr std::size_t kMaxBundleCertificates = 8;
inline constexpr std::size_t kMaxBundleBytes = 64 * 1024;
// A configured anchor or intermediate file may be a whole CA bundle (Debian's
// ca-certificates.crt: ~150 certificates, ~220 KB).
inline constexpr std::size_t kMaxTrustFileCertificates = 1000;
inline constexpr std::size_t kMaxTrustFileBytes = 4 * 1024 * 1024;

// Every certificate in PEM text, in order; text outside the PEM blocks is ignored, as
// `openssl` does. Throws CertificateError when the text is larger than kMaxBundleBytes,
// holds more than kMaxBundleCertificates certificates, holds none, or a block is damaged;
// `what` names the text in that error ("the chain", "\"certificate\"").
std::vector<X509Ptr> parse_pem_bundle(std::string_view pem, std::string_view what = "the chain");
// The same for a file, with the kMaxTrustFile* bounds; the error names the file.
std::vector<X509Ptr> load_pem_file(const std::string& path);

class TrustStore {
 public:
  enum class Status {
    valid,          // a path from the certificate to a configured anchor, valid at `now`
    untrusted,      // no such path, or one that does not verify (a signature, a CA flag)
    expired,        // a path, but a certificate on it expired before `now`
    not_yet_valid,  // a path, but a certificate on it is not valid until after `now`
  };

  struct Result {
    Status status = Status::untrusted;
    // Leaf first, anchor last when valid; otherwise as far as the verifier got.
    std::vector<X509Ptr> chain;
    std::string detail;  // one English sentence for logs and the API's "detail"
  };

  // Reads every file (each may hold several certificates). Throws CertificateError naming
  // the first file that cannot be read or holds no certificate.
  TrustStore(const std::vector<std::string>& anchor_files,
             const std::vector<std::string>& intermediate_files);

  // `extra_chain`: certificates the caller supplied (untrusted, used only to build the path,
  // like the configured intermediates). Thread-safe.
  Result verify(X509* leaf, const std::vector<X509*>& extra_chain, std::time_t now) const;

  // No anchors configured: nothing can be valid.
  bool empty() const { return anchor_count_ == 0; }
  std::size_t anchor_count() const { return anchor_count_; }

  // Has a TLS client verify its servers against these anchors only (enrolment with a CA).
  void trust_in(ssl_ctx_st* tls) const;

 private:
  certs::Store store_;
  std::vector<X509Ptr> intermediates_;
  std::size_t anchor_count_ = 0;
};

// "valid", "untrusted", "expired", "not_yet_valid".
std::string_view status_name(TrustStore::Status status);

}  // namespace certkey::daemon
