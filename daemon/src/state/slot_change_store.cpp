#include "slot_change_store.hpp"

#include <sys/random.h>

#include <cstdio>

#include "audit_log.hpp"

namespace certkey::daemon {

std::string random_record_id() {
  std::uint8_t bytes[16];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    throw StateError("no randomness for an id");
  char out[33];
  for (std::size_t i = 0; i < sizeof bytes; ++i) std::snprintf(out + 2 * i, 3, "%02x", bytes[i]);
  return out;
}

SlotChange SlotChangeStore::add(SlotChange change) {
  change.id = random_record_id();
  change.created = utc_now_iso();
  std::lock_guard lock(db_.mutex());
  Statement insert(
      db_,
      "INSERT INTO slot_changes (id, serial, slot, kind, previous_pem, next_pem, origin, created)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, change.id).bind(2, static_cast<std::int64_t>(change.serial)).bind(3, change.slot);
  insert.bind(4, change.kind == SlotChange::Kind::change ? "change" : "revoke")
      .bind(5, change.previous_pem);
  insert.bind(6, change.next_pem).bind(7, change.origin).bind(8, change.created).run();
  return change;
}

void SlotChangeStore::remove(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  Statement remove(db_, "DELETE FROM slot_changes WHERE id = ?");
  remove.bind(1, id).run();
}

std::vector<SlotChange> SlotChangeStore::of_token(std::uint32_t serial) {
  std::lock_guard lock(db_.mutex());
  Statement select(
      db_,
      "SELECT id, serial, slot, kind, previous_pem, next_pem, origin, created FROM slot_changes"
      " WHERE serial = ? ORDER BY rowid");
  select.bind(1, static_cast<std::int64_t>(serial));
  std::vector<SlotChange> rows;
  while (select.step()) {
    rows.push_back(
        {select.text(0), static_cast<std::uint32_t>(select.integer(1)), select.text(2),
         select.text(3) == "revoke" ? SlotChange::Kind::revoke : SlotChange::Kind::change,
         select.text(4), select.text(5), select.text(6), select.text(7)});
  }
  return rows;
}

}  // namespace certkey::daemon
