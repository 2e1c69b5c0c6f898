#include "state_db.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace certkey::daemon {
namespace {

// Each entry brings the schema from version i to i + 1 (PRAGMA user_version).
constexpr const char* kMigrations[] = {
    // 1: the audit log (append-only: updates are refused; rows go only by retention) and
    //    the renewals in progress.
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  time TEXT NOT NULL,"
    "  transport TEXT NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  uid INTEGER, pid INTEGER,"
    "  extension TEXT NOT NULL,"
    "  command TEXT NOT NULL,"
    "  token INTEGER,"
    "  result TEXT NOT NULL,"
    "  reference TEXT NOT NULL);"
    "CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit BEGIN"
    "  SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TABLE renewals ("
    "  id TEXT PRIMARY KEY,"
    "  serial INTEGER NOT NULL,"
    "  certificate_id TEXT NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  csr_pem TEXT NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  created TEXT NOT NULL);",
    // 2: a renewal is a state machine (docs/daemon.md, "Renewals"): its state, the key's
    //    algorithm, the authorization (JWS), the CA's certificate once given, and, after it
    //    became current, when the superseded certificate expires. A version-1 row without a
    //    request was interrupted before its key was made.
    "ALTER TABLE renewals ADD COLUMN state TEXT NOT NULL DEFAULT 'awaiting_certificate';"
    "ALTER TABLE renewals ADD COLUMN algorithm TEXT NOT NULL DEFAULT 'ecc-p256';"
    "ALTER TABLE renewals ADD COLUMN authorization TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE renewals ADD COLUMN certificate_pem TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE renewals ADD COLUMN superseded_expiry TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE renewals ADD COLUMN updated TEXT NOT NULL DEFAULT '';"
    "UPDATE renewals SET state = 'generating' WHERE csr_pem = '';"
    "UPDATE renewals SET updated = created;"
    // ... and a change or deletion of one slot's certificate (changeCertificate,
    // revokeCertificate), recorded with what the slot held before it is written.
    "CREATE TABLE slot_changes ("
    "  id TEXT PRIMARY KEY,"
    "  serial INTEGER NOT NULL,"
    "  slot TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  previous_pem TEXT NOT NULL,"
    "  next_pem TEXT NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  created TEXT NOT NULL);",
    // 3: the desktop reminders shown (docs/daemon.md, "Expiry reminders"): one row per
    //    certificate (its SHA-256) per local day, so a restart on the same day shows none.
    "CREATE TABLE reminders ("
    "  fingerprint TEXT NOT NULL,"
    "  day TEXT NOT NULL,"
    "  serial INTEGER NOT NULL,"
    "  certificate_id TEXT NOT NULL,"
    "  PRIMARY KEY (fingerprint, day));",
};
constexpr int kSchemaVersion = static_cast<int>(sizeof kMigrations / sizeof kMigrations[0]);

}  // namespace

StateDb::StateDb(const std::string& path) : path_(path) {
  // A file that exists but cannot be opened for reading and writing is reported as it is;
  // SQLite would otherwise open it read-only and fail later, less clearly.
  if (::access(path.c_str(), F_OK) == 0 && ::access(path.c_str(), R_OK | W_OK) != 0) {
    throw StateError("the state database " + path + " cannot be opened: " + std::strerror(errno));
  }
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StateError("the state database " + path + " cannot be opened: " + why);
  }
  try {
    check_integrity();
    check_version();
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    sqlite3_busy_timeout(db_, 5000);
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

StateDb::~StateDb() { sqlite3_close(db_); }

void StateDb::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw StateError("the state database " + path_ + ": " + why);
  }
}

// Reading, before anything is written: a file that is not a database, or a damaged one,
// fails here and is left exactly as it was.
void StateDb::check_integrity() {
  std::string verdict;
  try {
    Statement check(*this, "PRAGMA quick_check");
    if (check.step()) verdict = check.text(0);
  } catch (const StateError& e) {
    throw StateError("the state database " + path_ + " is damaged (" + e.what() +
                     "); it was left as it is. Move it aside to start with an empty one.");
  }
  if (verdict != "ok") {
    throw StateError("the state database " + path_ + " is damaged (" + verdict +
                     "); it was left as it is. Move it aside to start with an empty one.");
  }
}

int StateDb::schema_version() {
  Statement v(*this, "PRAGMA user_version");
  return v.step() ? static_cast<int>(v.integer(0)) : 0;
}

// Reading, before anything is written: switching to WAL rewrites the file's header, so a
// newer certkeyd's database is refused before that.
void StateDb::check_version() {
  const int version = schema_version();
  if (version > kSchemaVersion) {
    throw StateError("the state database " + path_ + " was written by a newer certkeyd (schema " +
                     std::to_string(version) + "); it was left as it is");
  }
}

void StateDb::migrate() {
  for (int version = schema_version(); version < kSchemaVersion; ++version) {
    exec("BEGIN IMMEDIATE");
    try {
      exec(kMigrations[version]);
      exec(("PRAGMA user_version=" + std::to_string(version + 1)).c_str());
      exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

Statement::Statement(const StateDb& db, std::string_view sql) : db_(db.handle()) {
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement_, nullptr) !=
      SQLITE_OK) {
    throw StateError(sqlite3_errmsg(db_));
  }
}

Statement::~Statement() { sqlite3_finalize(statement_); }

Statement& Statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    throw StateError(sqlite3_errmsg(db_));
  }
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(statement_, index, value) != SQLITE_OK)
    throw StateError(sqlite3_errmsg(db_));
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(statement_, index) != SQLITE_OK) throw StateError(sqlite3_errmsg(db_));
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw StateError(sqlite3_errmsg(db_));
}

std::string Statement::text(int column) const {
  const auto* value = sqlite3_column_text(statement_, column);
  return value ? std::string(reinterpret_cast<const char*>(value),
                             static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)))
               : std::string();
}

std::int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(statement_, column);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

}  // namespace certkey::daemon
