#include "renewal_store.hpp"

#include <sys/random.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audit_log.hpp"

namespace certkey::daemon {
namespace {

std::string random_id() {
  std::uint8_t bytes[16];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    throw StateError("no randomness for a renewal id");
  }
  char out[33];
  for (std::size_t i = 0; i < sizeof bytes; ++i) std::snprintf(out + 2 * i, 3, "%02x", bytes[i]);
  return out;
}

}  // namespace

void RenewalStore::import_journal(const std::string& json_path) {
  std::error_code ec;
  if (!std::filesystem::exists(json_path, ec)) return;
  try {
    const nlohmann::json journal = nlohmann::json::parse(std::ifstream(json_path));
    std::lock_guard lock(db_.mutex());
    db_.exec("BEGIN IMMEDIATE");
    try {
      // A crash between this commit and the rename below leaves the journal in place: the
      // next start imports it again, keeping the rows it already has.
      for (const auto& r : journal.at("renewals")) {
        insert({r.at("id"), r.at("serial"), r.at("certificate_id"), r.at("key_id"), r.at("csr"), r.at("origin"),
                r.at("created")},
               true);
      }
      db_.exec("COMMIT");
    } catch (...) {
      db_.exec("ROLLBACK");
      throw;
    }
  } catch (const nlohmann::json::exception& e) {
    throw StateError("the renewal journal " + json_path + " is damaged (" + e.what() + "); it was left as it is");
  }
  std::filesystem::rename(json_path, json_path + ".imported");
}

void RenewalStore::insert(const Renewal& r, bool keep_existing) {
  Statement insert(db_, std::string(keep_existing ? "INSERT OR IGNORE" : "INSERT") +
                            " INTO renewals (id, serial, certificate_id, key_id, csr_pem, origin, created)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, r.id).bind(2, static_cast<std::int64_t>(r.serial)).bind(3, r.certificate_id).bind(4, r.key_id);
  insert.bind(5, r.csr_pem).bind(6, r.origin).bind(7, r.created).run();
}

Renewal RenewalStore::add(Renewal renewal) {
  renewal.id = random_id();
  renewal.created = utc_now_iso();
  std::lock_guard lock(db_.mutex());
  insert(renewal);
  return renewal;
}

void RenewalStore::set_csr(const std::string& id, const std::string& csr_pem) {
  std::lock_guard lock(db_.mutex());
  Statement update(db_, "UPDATE renewals SET csr_pem = ? WHERE id = ?");
  update.bind(1, csr_pem).bind(2, id).run();
}

std::vector<std::string> RenewalStore::key_ids_of(std::uint32_t serial) {
  std::lock_guard lock(db_.mutex());
  Statement select(db_, "SELECT key_id FROM renewals WHERE serial = ?");
  select.bind(1, static_cast<std::int64_t>(serial));
  std::vector<std::string> ids;
  while (select.step()) ids.push_back(select.text(0));
  return ids;
}

std::optional<Renewal> RenewalStore::find(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  Statement select(db_,
                   "SELECT id, serial, certificate_id, key_id, csr_pem, origin, created FROM renewals WHERE id = ?");
  select.bind(1, id);
  if (!select.step()) return std::nullopt;
  return Renewal{select.text(0), static_cast<std::uint32_t>(select.integer(1)), select.text(2), select.text(3),
                 select.text(4), select.text(5), select.text(6)};
}

void RenewalStore::remove(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  Statement remove(db_, "DELETE FROM renewals WHERE id = ?");
  remove.bind(1, id).run();
}

}  // namespace certkey::daemon
