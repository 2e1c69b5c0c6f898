#include "certificate_status.hpp"

#include "../workflows/issued_certificate.hpp"
#include "revocation.hpp"
#include "trust_store.hpp"

namespace certkey::daemon {

std::string_view chain_name(ChainStatus status) {
  switch (status) {
    case ChainStatus::valid: return "valid";
    case ChainStatus::untrusted: return "untrusted";
    case ChainStatus::expired: return "expired";
    case ChainStatus::not_yet_valid: return "not_yet_valid";
    case ChainStatus::not_checked: break;
  }
  return "not_checked";
}

std::string_view revocation_name(RevocationStatus status) {
  switch (status) {
    case RevocationStatus::good: return "good";
    case RevocationStatus::revoked: return "revoked";
    case RevocationStatus::unknown: return "unknown";
    case RevocationStatus::not_checked: break;
  }
  return "not_checked";
}

CertificateStatus CertificateChecker::check(const std::vector<std::uint8_t>& der,
                                            std::time_t now) const {
  CertificateStatus status;
  const X509Ptr certificate = x509_from_der(der);
  if (!certificate) {
    status.detail = "the token's certificate is not X.509";
    return status;
  }
  if (trust_.empty()) {
    status.detail = "no trust anchors are configured";
    return status;
  }
  const TrustStore::Result chain = trust_.verify(certificate.get(), {}, now);
  status.detail = chain.detail;
  switch (chain.status) {
    case TrustStore::Status::valid: status.chain = ChainStatus::valid; break;
    case TrustStore::Status::expired: status.chain = ChainStatus::expired; return status;
    case TrustStore::Status::not_yet_valid:
      status.chain = ChainStatus::not_yet_valid;
      return status;
    case TrustStore::Status::untrusted: status.chain = ChainStatus::untrusted; return status;
  }
  // The issuer is the next certificate on the verified path.
  if (chain.chain.size() < 2) return status;
  const RevocationChecker::Status revocation =
      revocation_.check(certificate.get(), chain.chain[1].get());
  status.detail = revocation.detail;
  switch (revocation.state) {
    case RevocationChecker::State::good: status.revocation = RevocationStatus::good; break;
    case RevocationChecker::State::revoked: status.revocation = RevocationStatus::revoked; break;
    case RevocationChecker::State::unknown: status.revocation = RevocationStatus::unknown; break;
  }
  return status;
}

}  // namespace certkey::daemon
