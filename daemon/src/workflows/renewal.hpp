// Certificate renewal on the token (docs/daemon.md, "Renewals"), a state machine recorded in
// the state database before each step:
//
//   generating -> awaiting_certificate -> writing_certificate -> making_current -> current
//        \               \                                                          |
//         `-> cancelling <-'                                      removing_superseded
//
// Begin makes a key pair of the renewed key's algorithm in a free retired slot, a request
// with the renewed certificate's subject, and an authorization (a JWS) signed by the renewed
// key. Complete checks the CA's certificate, writes it beside the new key, reads it back, and
// swaps the two slots in one commit on the token: applications find the new key and
// certificate where they found the old ones, and the old ones wait in the retired slot until
// retention allows their removal. The old certificate works until the swap, so the token is
// never without one. Reconcile finishes or undoes what a crash, a kill or a pulled token
// interrupted.
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "../state/renewal_store.hpp"
#include "issued_certificate.hpp"
#include "token_keys.hpp"
#include "token_work.hpp"

namespace certkey::daemon {

class TrustStore;

struct RenewalContext {
  TokenWork& work;
  RenewalStore& store;
  const TrustStore& trust;
  std::chrono::days retention;  // after the superseded certificate's expiry
};

using RequestPtr = std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)>;

// The renewal's request, parsed. Throws ApiError(internal_error) when it is unreadable.
RequestPtr request_of(const Renewal& renewal);

// Throws ApiError.
Renewal begin_renewal(RenewalContext& context, const std::string& certificate_id,
                      std::optional<KeyAlgorithm> algorithm);
Renewal complete_renewal(RenewalContext& context, Renewal renewal, const IssuedCertificate& issued);
void cancel_renewal(RenewalContext& context, Renewal renewal);

// Every renewal of the context's token that a crash or a pulled token interrupted resumes or
// rolls back, and superseded keys whose retention ended are removed. Returns one line per
// renewal it acted on (for the log). Throws ApiError when the token cannot be reached; what
// was not done stays recorded for the next time.
std::vector<std::string> reconcile_renewals(RenewalContext& context);

}  // namespace certkey::daemon
