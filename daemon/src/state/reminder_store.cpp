#include "reminder_store.hpp"

#include <sqlite3.h>

namespace certkey::daemon {

bool ReminderStore::claim(const std::string& fingerprint, const std::string& day,
                          std::uint32_t serial, const std::string& certificate_id,
                          const std::string& oldest_kept) {
  std::lock_guard lock(db_.mutex());
  Statement(db_, "DELETE FROM reminders WHERE day < ?").bind(1, oldest_kept).run();
  Statement insert(db_,
                   "INSERT OR IGNORE INTO reminders (fingerprint, day, serial, certificate_id) "
                   "VALUES (?, ?, ?, ?)");
  insert.bind(1, fingerprint)
      .bind(2, day)
      .bind(3, static_cast<std::int64_t>(serial))
      .bind(4, certificate_id)
      .run();
  return sqlite3_changes(db_.handle()) == 1;
}

void ReminderStore::release(const std::string& fingerprint, const std::string& day) {
  std::lock_guard lock(db_.mutex());
  Statement(db_, "DELETE FROM reminders WHERE fingerprint = ? AND day = ?")
      .bind(1, fingerprint)
      .bind(2, day)
      .run();
}

}  // namespace certkey::daemon
