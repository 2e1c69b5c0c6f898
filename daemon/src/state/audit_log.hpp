// The append-only audit log (DESIGN.md section 6, item 5): one entry per state-changing
// command that was carried out, successful or not: when, who (transport, origin, peer,
// extension), what, on which token, and the result. Never a secret: entries hold codes and
// identifiers only, and no field takes text from a request body.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "../core/caller.hpp"
#include "state_db.hpp"

namespace certkey::daemon {

struct AuditEntry {
  std::string time;  // ISO 8601, UTC; filled in by record() when empty
  std::string transport;
  std::string origin;  // "" for a program on this computer
  std::optional<std::int64_t> uid, pid;
  std::string extension;
  std::string command;
  std::optional<std::uint32_t> token;
  std::string result;     // "ok" or an error code
  std::string reference;  // what the command made or touched, e.g. a renewal id
};

AuditEntry audit_entry_for(const Caller& caller, const std::string& command);

class AuditLog {
 public:
  explicit AuditLog(StateDb& db) : db_(db) {}
  void record(AuditEntry entry);  // throws StateError
  // Removes entries older than `days` (the configured retention).
  void prune(unsigned days);
  std::vector<AuditEntry> recent(std::size_t limit);

 private:
  StateDb& db_;
};

std::string utc_now_iso();

}  // namespace certkey::daemon
