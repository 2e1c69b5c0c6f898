// Changing and revoking one slot's certificate (docs/daemon.md, "Changing and revoking a
// certificate"): change (证书变更) writes a re-issued certificate for the key the slot already
// holds; revoke (证书撤销) deletes the key and its certificate once the holder has said yes
// in the trusted prompt. Each records what the slot held before the token is written.
#pragma once
#include <string>
#include <vector>

#include "../state/renewal_store.hpp"
#include "../state/slot_change_store.hpp"
#include "issued_certificate.hpp"
#include "token_work.hpp"

namespace certkey::daemon {

class TrustStore;

struct SlotChangeContext {
  TokenWork& work;
  SlotChangeStore& store;
  RenewalStore& renewals;
  const TrustStore& trust;
};

// The certificate must certify the slot's key, be valid now and chain to an anchor; it
// replaces the slot's certificate, and must read back as sent. Throws ApiError.
void change_certificate(SlotChangeContext& context, const std::string& slot,
                        const IssuedCertificate& issued);
// Asks the holder to confirm (naming the certificate's subject and who asks), then deletes
// the slot's key and certificate. Throws ApiError (revoke_declined for a "no").
void revoke_certificate(SlotChangeContext& context, const std::string& slot);
// Finishes what a crash or a pulled token interrupted. Returns what was done.
std::vector<std::string> reconcile_slot_changes(SlotChangeContext& context);

}  // namespace certkey::daemon
