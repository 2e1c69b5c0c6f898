#include "renewal_store.hpp"

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audit_log.hpp"
#include "slot_change_store.hpp"

namespace certkey::daemon {
namespace {

constexpr std::array<std::pair<RenewalState, std::string_view>, 7> kStateNames = {{
    {RenewalState::generating, "generating"},
    {RenewalState::awaiting_certificate, "awaiting_certificate"},
    {RenewalState::writing_certificate, "writing_certificate"},
    {RenewalState::making_current, "making_current"},
    {RenewalState::current, "current"},
    {RenewalState::removing_superseded, "removing_superseded"},
    {RenewalState::cancelling, "cancelling"},
}};

constexpr char kColumns[] =
    "id, serial, certificate_id, key_id, state, algorithm, csr_pem, authorization, certificate_pem,"
    " superseded_expiry, origin, created, updated";

Renewal row_of(const Statement& s) {
  Renewal r;
  r.id = s.text(0);
  r.serial = static_cast<std::uint32_t>(s.integer(1));
  r.certificate_id = s.text(2);
  r.key_id = s.text(3);
  // A state this version does not know cannot come from a schema it accepted; reading it
  // as "cancelling" would delete keys, so it is an error.
  const std::optional<RenewalState> state = state_from_name(s.text(4));
  if (!state) throw StateError("renewal " + r.id + " has an unknown state \"" + s.text(4) + "\"");
  r.state = *state;
  r.algorithm = s.text(5);
  r.csr_pem = s.text(6);
  r.authorization = s.text(7);
  r.certificate_pem = s.text(8);
  r.superseded_expiry = s.text(9);
  r.origin = s.text(10);
  r.created = s.text(11);
  r.updated = s.text(12);
  return r;
}

}  // namespace

std::string_view state_name(RenewalState state) {
  for (const auto& [s, name] : kStateNames) {
    if (s == state) return name;
  }
  return "";
}

std::optional<RenewalState> state_from_name(std::string_view name) {
  for (const auto& [s, n] : kStateNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool in_progress(RenewalState state) {
  return state == RenewalState::generating || state == RenewalState::awaiting_certificate ||
         state == RenewalState::writing_certificate || state == RenewalState::making_current;
}

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
        const std::string csr = r.at("csr");
        Statement insert(db_, std::string("INSERT OR IGNORE INTO renewals (") + kColumns +
                                  ") VALUES (?, ?, ?, ?, ?, 'ecc-p256', ?, '', '', '', ?, ?, ?)");
        insert.bind(1, r.at("id").get<std::string>()).bind(2, r.at("serial").get<std::int64_t>());
        insert.bind(3, r.at("certificate_id").get<std::string>())
            .bind(4, r.at("key_id").get<std::string>());
        insert.bind(5, csr.empty() ? "generating" : "awaiting_certificate").bind(6, csr);
        insert.bind(7, r.at("origin").get<std::string>())
            .bind(8, r.at("created").get<std::string>());
        insert.bind(9, r.at("created").get<std::string>()).run();
      }
      db_.exec("COMMIT");
    } catch (...) {
      db_.exec("ROLLBACK");
      throw;
    }
  } catch (const nlohmann::json::exception& e) {
    throw StateError("the renewal journal " + json_path + " is damaged (" + e.what() +
                     "); it was left as it is");
  }
  std::filesystem::rename(json_path, json_path + ".imported");
}

Renewal RenewalStore::add(Renewal renewal) {
  renewal.id = random_record_id();
  renewal.state = RenewalState::generating;
  renewal.created = renewal.updated = utc_now_iso();
  std::lock_guard lock(db_.mutex());
  Statement insert(db_, std::string("INSERT INTO renewals (") + kColumns +
                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, renewal.id)
      .bind(2, static_cast<std::int64_t>(renewal.serial))
      .bind(3, renewal.certificate_id);
  insert.bind(4, renewal.key_id).bind(5, state_name(renewal.state)).bind(6, renewal.algorithm);
  insert.bind(7, renewal.csr_pem).bind(8, renewal.authorization).bind(9, renewal.certificate_pem);
  insert.bind(10, renewal.superseded_expiry).bind(11, renewal.origin).bind(12, renewal.created);
  insert.bind(13, renewal.updated).run();
  return renewal;
}

void RenewalStore::record(Renewal& renewal) {
  renewal.updated = utc_now_iso();
  std::lock_guard lock(db_.mutex());
  Statement update(db_,
                   "UPDATE renewals SET certificate_id = ?, key_id = ?, state = ?, csr_pem = ?, "
                   "authorization = ?,"
                   " certificate_pem = ?, superseded_expiry = ?, updated = ? WHERE id = ?");
  update.bind(1, renewal.certificate_id).bind(2, renewal.key_id).bind(3, state_name(renewal.state));
  update.bind(4, renewal.csr_pem).bind(5, renewal.authorization).bind(6, renewal.certificate_pem);
  update.bind(7, renewal.superseded_expiry).bind(8, renewal.updated).bind(9, renewal.id).run();
  if (sqlite3_changes(db_.handle()) != 1)
    throw StateError("renewal " + renewal.id + " is not in the database");
}

void RenewalStore::remove(const std::string& id) {
  std::lock_guard lock(db_.mutex());
  Statement remove(db_, "DELETE FROM renewals WHERE id = ?");
  remove.bind(1, id).run();
}

std::vector<Renewal> RenewalStore::select(std::string_view where,
                                          const std::optional<std::string>& text,
                                          std::optional<std::int64_t> number) {
  std::lock_guard lock(db_.mutex());
  Statement query(db_, std::string("SELECT ") + kColumns + " FROM renewals " + std::string(where) +
                           " ORDER BY rowid");
  if (text) query.bind(1, *text);
  if (number) query.bind(1, *number);
  std::vector<Renewal> rows;
  while (query.step()) rows.push_back(row_of(query));
  return rows;
}

std::optional<Renewal> RenewalStore::find(const std::string& id) {
  std::vector<Renewal> rows = select("WHERE id = ?", id, std::nullopt);
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

std::vector<Renewal> RenewalStore::of_token(std::uint32_t serial) {
  return select("WHERE serial = ?", std::nullopt, static_cast<std::int64_t>(serial));
}

std::vector<Renewal> RenewalStore::all() { return select("", std::nullopt, std::nullopt); }

std::vector<std::string> RenewalStore::key_ids_of(std::uint32_t serial) {
  std::vector<std::string> ids;
  for (const Renewal& r : of_token(serial)) ids.push_back(r.key_id);
  return ids;
}

}  // namespace certkey::daemon
