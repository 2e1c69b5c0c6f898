// Renewals in the state database. A renewal is a state machine (docs/daemon.md, "Renewals"):
// each state is recorded before the step it names is taken, so that after a crash, a kill or
// a pulled token the daemon knows what may have happened on the token and can finish or undo
// it (workflows/renewal.cpp, reconcile).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "state_db.hpp"

namespace certkey::daemon {

enum class RenewalState {
  generating,            // the new key's slot is reserved; the key pair is being made
  awaiting_certificate,  // the request and authorization are made; waiting for the CA
  writing_certificate,   // the CA's certificate is checked and being written beside the new key
  making_current,        // the new and old key and certificate are being swapped
  current,               // done: the superseded ones sit in the retired slot until retention ends
  removing_superseded,   // retention ended: the superseded key and certificate are being deleted
  cancelling,            // the new key and anything beside it are being deleted
};

std::string_view state_name(RenewalState state);
std::optional<RenewalState> state_from_name(std::string_view name);
// Before the swap: the caller's renewal is still open (getRenewal, listRenewals).
bool in_progress(RenewalState state);

struct Renewal {
  std::string id;  // random, 32 hex digits
  std::uint32_t serial = 0;
  std::string certificate_id;  // the slot being renewed; after the swap, the new key's
  std::string key_id;          // the new key's slot; after the swap, the superseded key's
  RenewalState state = RenewalState::generating;
  std::string algorithm;  // of the new key: "ecc-p256", "ecc-p384", "rsa-2048"
  std::string csr_pem;
  std::string authorization;  // JWS compact serialization
  std::string certificate_pem;
  std::string superseded_expiry;  // ISO 8601, the old certificate's notAfter
  std::string origin;             // who started it ("" for a program on this computer)
  std::string created;            // ISO 8601
  std::string updated;
};

class RenewalStore {
 public:
  explicit RenewalStore(StateDb& db) : db_(db) {}
  // Moves renewals from the JSON journal of earlier versions into the database, once.
  void import_journal(const std::string& json_path);

  // Records a new renewal in state `generating`; assigns the id and the times.
  Renewal add(Renewal renewal);
  // Records the renewal's state and what goes with it (updated is set here). Throws
  // StateError: the step must not be taken then.
  void record(Renewal& renewal);
  void remove(const std::string& id);

  std::optional<Renewal> find(const std::string& id);
  std::vector<Renewal> of_token(std::uint32_t serial);
  std::vector<Renewal> all();
  // The slots renewals of this token hold: new keys, and superseded ones kept for retention.
  std::vector<std::string> key_ids_of(std::uint32_t serial);

 private:
  std::vector<Renewal> select(std::string_view where, const std::optional<std::string>& text,
                              std::optional<std::int64_t> number);
  StateDb& db_;
};

}  // namespace certkey::daemon
