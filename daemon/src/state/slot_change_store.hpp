// Changes to one slot's certificate in progress (docs/daemon.md, "Changing and revoking a
// certificate"): recorded, with the certificate the slot held, before the token is written,
// and removed once the token shows the result. A record left by a crash or a pulled token
// tells reconcile what to finish.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "state_db.hpp"

namespace certkey::daemon {

struct SlotChange {
  enum class Kind { change, revoke };
  std::string id;
  std::uint32_t serial = 0;
  std::string slot;  // the CKA_ID, hex
  Kind kind = Kind::change;
  std::string previous_pem;  // what the slot held
  std::string next_pem;      // the certificate being written (change only)
  std::string origin;
  std::string created;
};

class SlotChangeStore {
 public:
  explicit SlotChangeStore(StateDb& db) : db_(db) {}
  SlotChange add(SlotChange change);  // assigns the id and the time
  void remove(const std::string& id);
  std::vector<SlotChange> of_token(std::uint32_t serial);

 private:
  StateDb& db_;
};

// A random 32-hex-digit id (renewals and slot changes).
std::string random_record_id();

}  // namespace certkey::daemon
