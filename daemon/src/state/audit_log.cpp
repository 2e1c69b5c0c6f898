#include "audit_log.hpp"

#include <ctime>

#include "../core/x509_text.hpp"

namespace certkey::daemon {

std::string utc_now_iso() { return iso_time(std::time(nullptr)); }

AuditEntry audit_entry_for(const Caller& caller, const std::string& command) {
  AuditEntry e;
  e.transport = std::string(transport_name(caller.transport));
  e.origin = caller.origin_text();
  if (caller.uid) e.uid = *caller.uid;
  if (caller.pid) e.pid = *caller.pid;
  e.extension = caller.extension;
  e.command = command;
  return e;
}

void AuditLog::record(AuditEntry e) {
  if (e.time.empty()) e.time = utc_now_iso();
  std::lock_guard lock(db_.mutex());
  Statement insert(db_,
                   "INSERT INTO audit (time, transport, origin, uid, pid, extension, command, "
                   "token, result, reference)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, e.time).bind(2, e.transport).bind(3, e.origin);
  e.uid ? insert.bind(4, *e.uid) : insert.bind_null(4);
  e.pid ? insert.bind(5, *e.pid) : insert.bind_null(5);
  insert.bind(6, e.extension).bind(7, e.command);
  e.token ? insert.bind(8, static_cast<std::int64_t>(*e.token)) : insert.bind_null(8);
  insert.bind(9, e.result).bind(10, e.reference);
  insert.run();
}

void AuditLog::prune(unsigned days) {
  std::lock_guard lock(db_.mutex());
  Statement prune(db_, "DELETE FROM audit WHERE time < strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?)");
  prune.bind(1, "-" + std::to_string(days) + " days").run();
}

std::vector<AuditEntry> AuditLog::recent(std::size_t limit) {
  std::lock_guard lock(db_.mutex());
  Statement select(
      db_,
      "SELECT time, transport, origin, uid, pid, extension, command, token, result, reference"
      " FROM audit ORDER BY id DESC LIMIT ?");
  select.bind(1, static_cast<std::int64_t>(limit));
  std::vector<AuditEntry> out;
  while (select.step()) {
    AuditEntry e;
    e.time = select.text(0);
    e.transport = select.text(1);
    e.origin = select.text(2);
    if (!select.is_null(3)) e.uid = select.integer(3);
    if (!select.is_null(4)) e.pid = select.integer(4);
    e.extension = select.text(5);
    e.command = select.text(6);
    if (!select.is_null(7)) e.token = static_cast<std::uint32_t>(select.integer(7));
    e.result = select.text(8);
    e.reference = select.text(9);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace certkey::daemon
