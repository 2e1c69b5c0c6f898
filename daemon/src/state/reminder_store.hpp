// The desktop reminders shown (docs/daemon.md, "Expiry reminders"): at most one per
// certificate per local day, kept in the state database so that a restart on the same day
// shows none again.
#pragma once
#include <cstdint>
#include <string>

#include "state_db.hpp"

namespace certkey::daemon {

class ReminderStore {
 public:
  explicit ReminderStore(StateDb& db) : db_(db) {}
  // Takes the day's reminder for the certificate with SHA-256 `fingerprint`: true if nobody
  // had, false if it was taken already. `day` is "YYYY-MM-DD"; rows of days before
  // `oldest_kept` go.
  bool claim(const std::string& fingerprint, const std::string& day, std::uint32_t serial,
             const std::string& certificate_id, const std::string& oldest_kept);
  // Gives the day's reminder back (it could not be shown).
  void release(const std::string& fingerprint, const std::string& day);

 private:
  StateDb& db_;
};

}  // namespace certkey::daemon
