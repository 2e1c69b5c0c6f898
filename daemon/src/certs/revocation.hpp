// Whether a certificate's CA says it is revoked: OCSP (RFC 6960) at the responder the
// certificate names in its Authority Information Access extension, else the CRL at its CRL
// distribution point (RFC 5280 §5, §6.3). Answers are cached until the response's nextUpdate.
// A responder that cannot be reached, is slow, or answers with something that does not
// verify makes the answer `unknown`, never an exception: the daemon shows "unknown" and goes
// on (docs/daemon.md, "Certificate status").
#pragma once
#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace certkey::daemon {

struct RevocationOptions {
  std::chrono::milliseconds fetch_timeout{3000};  // per responder or CRL, everything included
  std::size_t max_response_bytes = 1024 * 1024;
  // How long an answer is kept when the response has no nextUpdate (RFC 6960 §4.2.2.1 lets
  // a responder leave it out: "newer information is always available").
  std::chrono::seconds default_lifetime{3600};
  // How long `unknown` is kept: long enough that a machine without network is not made to
  // wait for every check, short enough that a responder that comes back is noticed.
  std::chrono::seconds unknown_lifetime{300};
  std::size_t max_cache_entries = 1024;
};

class RevocationChecker {
 public:
  enum class State { good, revoked, unknown };
  enum class Source { none, ocsp, crl };

  struct Status {
    State state = State::unknown;
    Source source = Source::none;  // what gave a good or revoked answer
    std::string detail;            // one English sentence: where it asked and what it heard
    std::optional<std::time_t> revoked_at;
    std::optional<std::time_t> next_update;  // the response's or the CRL's nextUpdate
  };

  RevocationChecker() : RevocationChecker(RevocationOptions{}) {}
  explicit RevocationChecker(RevocationOptions options) : options_(options) {}

  // `issuer` must be the certificate that issued `cert` (the next one on its verified path).
  // May wait for the network, at most fetch_timeout per responder or CRL URL; thread-safe.
  Status check(X509* cert, X509* issuer);
  // The cached answer, if there is a fresh one; never touches the network.
  std::optional<Status> cached(X509* cert, X509* issuer) const;

 private:
  struct Entry {
    Status status;
    std::time_t expires;
  };

  Status ask(X509* cert, X509* issuer) const;
  std::optional<Status> fresh(const std::string& key) const;
  void remember(const std::string& key, const Status& status, std::time_t now);

  const RevocationOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> cache_;  // by issuer name hash, issuer key hash and serial
};

// "good", "revoked", "unknown".
std::string_view status_name(RevocationChecker::State state);

}  // namespace certkey::daemon
