// A certificate's status for queries and the diagnosis (docs/daemon.md, "Certificate
// status"): whether it chains to a configured anchor now, and whether its CA says it is
// revoked (OCSP, else the CRL). A responder that cannot be reached makes the revocation
// `unknown`, never an error.
#pragma once
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace certkey::daemon {

class TrustStore;
class RevocationChecker;

enum class ChainStatus { valid, untrusted, expired, not_yet_valid, not_checked };
enum class RevocationStatus { good, revoked, unknown, not_checked };

// The API's names: "valid", "untrusted", "expired", "not_yet_valid", "not_checked";
// "good", "revoked", "unknown", "not_checked".
std::string_view chain_name(ChainStatus status);
std::string_view revocation_name(RevocationStatus status);

struct CertificateStatus {
  ChainStatus chain = ChainStatus::not_checked;
  RevocationStatus revocation = RevocationStatus::not_checked;
  std::string detail;
};

class CertificateChecker {
 public:
  CertificateChecker(const TrustStore& trust, RevocationChecker& revocation)
      : trust_(trust), revocation_(revocation) {}
  // May wait for an OCSP responder or a CRL download (bounded); thread-safe.
  // `not_checked`: no anchors are configured, or (revocation) the chain is not valid.
  CertificateStatus check(const std::vector<std::uint8_t>& der, std::time_t now) const;

 private:
  const TrustStore& trust_;
  RevocationChecker& revocation_;
};

}  // namespace certkey::daemon
