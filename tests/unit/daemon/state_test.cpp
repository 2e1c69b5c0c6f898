// certkeyd's durable state in SQLite (daemon/src/state/, DESIGN.md section 6 "Durable state"):
// a new database gets the schema; a damaged one, or one from a newer certkeyd, is refused
// and left byte for byte as it was; the audit log is append-only (security model item 5);
// renewals in progress round-trip, and the JSON journal of earlier versions is imported once.
// Real database files in a temporary directory.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "state/audit_log.hpp"
#include "state/reminder_store.hpp"
#include "state/renewal_store.hpp"
#include "state/state_db.hpp"

namespace certkey::daemon {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

Renewal renewal(std::uint32_t serial, const std::string& certificate_id, const std::string& key_id,
                const std::string& origin = "") {
  Renewal r;
  r.serial = serial;
  r.certificate_id = certificate_id;
  r.key_id = key_id;
  r.origin = origin;
  return r;
}

AuditEntry entry(const std::string& command, const std::string& result = "ok") {
  AuditEntry e;
  e.transport = "unix_socket";
  e.command = command;
  e.result = result;
  return e;
}

class DaemonState : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "certkey-state-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The message of the StateError opening `path` raises; fails the test when it opens.
  static std::string open_error(const fs::path& path) {
    try {
      StateDb db(path.string());
    } catch (const StateError& e) {
      return e.what();
    }
    ADD_FAILURE() << "opened " << path;
    return {};
  }

  fs::path dir_;
};

TEST_F(DaemonState, FreshDatabase_GetsTheSchema) {
  StateDb db((dir_ / "state.db").string());
  Statement version(db, "PRAGMA user_version");
  ASSERT_TRUE(version.step());
  EXPECT_EQ(version.integer(0), 3);
  Statement objects(db, "SELECT name FROM sqlite_master ORDER BY name");
  std::vector<std::string> names;
  while (objects.step()) names.push_back(objects.text(0));
  EXPECT_EQ(names, (std::vector<std::string>{"audit", "audit_append_only", "reminders", "renewals",
                                             "slot_changes", "sqlite_autoindex_reminders_1",
                                             "sqlite_autoindex_renewals_1",
                                             "sqlite_autoindex_slot_changes_1"}));
}

// The desktop reminders: one per certificate per day, across a reopening of the database;
// a reminder given back can be taken again; days older than the kept ones go.
TEST_F(DaemonState, Reminders_OncePerCertificatePerDay_KeptAcrossRestarts) {
  const std::string path = (dir_ / "state.db").string();
  {
    StateDb db(path);
    ReminderStore reminders(db);
    EXPECT_TRUE(reminders.claim("aa", "2026-12-01", 7, "01", "2026-11-24"));
    EXPECT_FALSE(reminders.claim("aa", "2026-12-01", 7, "01", "2026-11-24"));
    EXPECT_TRUE(reminders.claim("bb", "2026-12-01", 7, "02", "2026-11-24"))
        << "another certificate";
    EXPECT_TRUE(reminders.claim("aa", "2026-12-02", 7, "01", "2026-11-25")) << "the next day";
    reminders.release("bb", "2026-12-01");
  }
  StateDb db(path);
  ReminderStore reminders(db);
  EXPECT_FALSE(reminders.claim("aa", "2026-12-02", 7, "01", "2026-11-25"))
      << "a restart the same day";
  EXPECT_TRUE(reminders.claim("bb", "2026-12-01", 7, "02", "2026-11-24")) << "given back";
  EXPECT_TRUE(reminders.claim("cc", "2026-12-20", 7, "01", "2026-12-13"));
  Statement rows(db, "SELECT COUNT(*) FROM reminders");
  ASSERT_TRUE(rows.step());
  EXPECT_EQ(rows.integer(0), 1) << "the days before 2026-12-13 were pruned";
}

// A version-1 database (the renewals before they were a state machine) is brought up to
// date: a row with a request waits for its certificate; one without was interrupted before
// its key was made, and is rolled back at the token's next insertion.
TEST_F(DaemonState, VersionOneDatabase_IsMigrated_AndItsRenewalsGetTheirStates) {
  const std::string path = (dir_ / "state.db").string();
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    const std::string schema_1 =
        "CREATE TABLE audit (id INTEGER PRIMARY KEY, time TEXT NOT NULL, transport TEXT NOT NULL,"
        " origin TEXT NOT NULL, uid INTEGER, pid INTEGER, extension TEXT NOT NULL,"
        " command TEXT NOT NULL, token INTEGER, result TEXT NOT NULL, reference TEXT NOT NULL);"
        "CREATE TABLE renewals (id TEXT PRIMARY KEY, serial INTEGER NOT NULL,"
        " certificate_id TEXT NOT NULL, key_id TEXT NOT NULL, csr_pem TEXT NOT NULL,"
        " origin TEXT NOT NULL, created TEXT NOT NULL);"
        "INSERT INTO renewals VALUES ('" +
        std::string(32, 'a') +
        "', 7, '01', '05', 'CSR', '',"
        " '2026-01-01T00:00:00Z');"
        "INSERT INTO renewals VALUES ('" +
        std::string(32, 'b') +
        "', 7, '02', '06', '', '',"
        " '2026-01-02T00:00:00Z');"
        "PRAGMA user_version=1;";
    ASSERT_EQ(sqlite3_exec(raw, schema_1.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  StateDb db(path);
  RenewalStore store(db);
  const std::optional<Renewal> waiting = store.find(std::string(32, 'a'));
  const std::optional<Renewal> interrupted = store.find(std::string(32, 'b'));
  ASSERT_TRUE(waiting && interrupted);
  EXPECT_EQ(waiting->state, RenewalState::awaiting_certificate);
  EXPECT_EQ(waiting->algorithm, "ecc-p256");
  EXPECT_EQ(waiting->updated, "2026-01-01T00:00:00Z");
  EXPECT_EQ(interrupted->state, RenewalState::generating);
}

TEST_F(DaemonState, ReopenedDatabase_KeepsItsContents) {
  const std::string path = (dir_ / "state.db").string();
  std::string id;
  {
    StateDb db(path);
    id = RenewalStore(db).add(renewal(7, "01", "05")).id;
  }
  StateDb db(path);
  EXPECT_TRUE(RenewalStore(db).find(id));
}

TEST_F(DaemonState, FileOfGarbage_IsRefusedAsDamaged_AndLeftAsItWas) {
  const fs::path path = dir_ / "state.db";
  std::string garbage;
  for (int i = 0; i < 512; ++i) garbage += "not a database ";
  write_file(path, garbage);

  const std::string message = open_error(path);
  EXPECT_NE(message.find("damaged"), std::string::npos) << message;
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_TRUE(read_file(path) == garbage) << "the file was changed";
  EXPECT_FALSE(fs::exists(path.string() + "-wal"));
  EXPECT_FALSE(fs::exists(path.string() + "-journal"));
}

TEST_F(DaemonState, DatabaseOfANewerSchema_IsRefused_AndLeftAsItWas) {
  for (const char* journal_mode : {"DELETE", "WAL"}) {
    const fs::path path = dir_ / (std::string("newer-") + journal_mode + ".db");
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
    const std::string sql = std::string("PRAGMA journal_mode = ") + journal_mode +
                            "; CREATE TABLE future (x); PRAGMA user_version = 99;";
    ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
    const std::string before = read_file(path);

    const std::string message = open_error(path);
    EXPECT_NE(message.find("newer"), std::string::npos) << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_TRUE(read_file(path) == before) << journal_mode << ": the file was changed";
  }
}

TEST_F(DaemonState, AuditEntries_RoundTrip_NewestFirst) {
  StateDb db((dir_ / "state.db").string());
  AuditLog audit(db);
  AuditEntry first = entry("beginRenewal");
  first.transport = "http";
  first.origin = "https://ca.example.cn";
  first.uid = 1000;
  first.pid = 4242;
  first.token = 7;
  first.reference = "ab";
  audit.record(first);
  audit.record(entry("completeRenewal", "pin_cancelled"));

  const std::vector<AuditEntry> entries = audit.recent(10);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].command, "completeRenewal");
  EXPECT_FALSE(entries[0].uid);
  EXPECT_FALSE(entries[0].token);
  const AuditEntry& got = entries[1];
  EXPECT_EQ(got.time.size(), std::string("2025-01-01T00:00:00Z").size()) << got.time;
  EXPECT_EQ(got.transport, "http");
  EXPECT_EQ(got.origin, "https://ca.example.cn");
  EXPECT_EQ(got.uid, 1000);
  EXPECT_EQ(got.pid, 4242);
  EXPECT_EQ(got.command, "beginRenewal");
  EXPECT_EQ(got.token, 7u);
  EXPECT_EQ(got.result, "ok");
  EXPECT_EQ(got.reference, "ab");
  EXPECT_EQ(audit.recent(1).size(), 1u);
}

TEST_F(DaemonState, Prune_RemovesOnlyEntriesOlderThanTheRetention) {
  StateDb db((dir_ / "state.db").string());
  AuditLog audit(db);
  AuditEntry old = entry("old");
  old.time = "2001-01-01T00:00:00Z";
  audit.record(old);
  audit.record(entry("new"));

  audit.prune(30);

  const std::vector<AuditEntry> entries = audit.recent(10);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].command, "new");
}

TEST_F(DaemonState, AuditLog_RefusesUpdates) {
  StateDb db((dir_ / "state.db").string());
  AuditLog(db).record(entry("beginRenewal"));
  try {
    db.exec("UPDATE audit SET result = 'forged'");
    ADD_FAILURE() << "an audit entry was changed";
  } catch (const StateError& e) {
    EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos) << e.what();
  }
  EXPECT_EQ(AuditLog(db).recent(1).at(0).result, "ok");
}

TEST_F(DaemonState, Renewals_AddFindRecordKeyIdsRemove) {
  StateDb db((dir_ / "state.db").string());
  RenewalStore store(db);
  const Renewal added = store.add(renewal(7, "01", "05", "https://ca.example.cn"));
  EXPECT_EQ(added.id.size(), 32u);
  EXPECT_EQ(added.id.find_first_not_of("0123456789abcdef"), std::string::npos) << added.id;
  EXPECT_FALSE(added.created.empty());
  store.add(renewal(7, "02", "06"));
  store.add(renewal(8, "01", "05"));

  EXPECT_EQ(added.state, RenewalState::generating);
  Renewal next = added;
  next.state = RenewalState::awaiting_certificate;
  next.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----";
  next.authorization = "header.payload.signature";
  store.record(next);
  const std::optional<Renewal> found = store.find(added.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->state, RenewalState::awaiting_certificate);
  EXPECT_EQ(found->authorization, "header.payload.signature");
  EXPECT_EQ(store.of_token(7).size(), 2u);
  EXPECT_EQ(store.all().size(), 3u);
  EXPECT_EQ(found->serial, 7u);
  EXPECT_EQ(found->certificate_id, "01");
  EXPECT_EQ(found->key_id, "05");
  EXPECT_EQ(found->csr_pem, "-----BEGIN CERTIFICATE REQUEST-----");
  EXPECT_EQ(found->origin, "https://ca.example.cn");
  EXPECT_EQ(found->created, added.created);
  std::vector<std::string> keys = store.key_ids_of(7);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"05", "06"}));

  store.remove(added.id);
  EXPECT_FALSE(store.find(added.id));
  EXPECT_EQ(store.key_ids_of(7), std::vector<std::string>{"06"});
  EXPECT_FALSE(store.find(std::string(32, '0')));
  Renewal gone = added;
  EXPECT_THROW(store.record(gone), StateError)
      << "a step of a renewal that is not recorded is not taken";
}

TEST_F(DaemonState, OldJournal_IsImportedOnce_AndRenamed) {
  StateDb db((dir_ / "state.db").string());
  RenewalStore store(db);
  const fs::path journal = dir_ / "renewals.json";
  write_file(journal, R"({"renewals": [{"id": "00112233445566778899aabbccddeeff", "serial": 9,
      "certificate_id": "02", "key_id": "07", "csr": "CSR", "origin": "https://ca.example.cn",
      "created": "2024-05-01T10:00:00Z"}]})");

  store.import_journal(journal.string());

  const std::optional<Renewal> r = store.find("00112233445566778899aabbccddeeff");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->serial, 9u);
  EXPECT_EQ(r->certificate_id, "02");
  EXPECT_EQ(r->key_id, "07");
  EXPECT_EQ(r->csr_pem, "CSR");
  EXPECT_EQ(r->origin, "https://ca.example.cn");
  EXPECT_EQ(r->created, "2024-05-01T10:00:00Z");
  EXPECT_FALSE(fs::exists(journal));
  EXPECT_TRUE(fs::exists(journal.string() + ".imported"));
  EXPECT_NO_THROW(store.import_journal(journal.string()));  // nothing left to import
}

// A crash after the import's commit and before the rename leaves the journal in place: the
// next start imports it again, and that must not fail.
TEST_F(DaemonState, JournalImportedBeforeACrash_IsImportedAgainHarmlessly) {
  StateDb db((dir_ / "state.db").string());
  RenewalStore store(db);
  const fs::path journal = dir_ / "renewals.json";
  const std::string text = R"({"renewals": [{"id": "00112233445566778899aabbccddeeff",
      "serial": 9, "certificate_id": "02", "key_id": "07", "csr": "CSR", "origin": "",
      "created": "2024-05-01T10:00:00Z"}]})";
  write_file(journal, text);
  store.import_journal(journal.string());
  write_file(journal, text);  // as if the rename had not happened

  EXPECT_NO_THROW(store.import_journal(journal.string()));

  EXPECT_FALSE(fs::exists(journal));
  EXPECT_EQ(store.key_ids_of(9), std::vector<std::string>{"07"});
}

TEST_F(DaemonState, DamagedJournal_IsRefused_AndStaysInPlace) {
  StateDb db((dir_ / "state.db").string());
  RenewalStore store(db);
  const fs::path journal = dir_ / "renewals.json";
  // The first renewal is sound, the second is not: neither may be imported.
  const std::string damaged = R"({"renewals": [{"id": "00112233445566778899aabbccddeeff",
      "serial": 9, "certificate_id": "02", "key_id": "07", "csr": "", "origin": "",
      "created": ""}, {"id": "ff", "serial": "nine"}]})";
  for (const std::string& text : {std::string("{\"renewals\": [ {\"id\""), damaged}) {
    write_file(journal, text);
    try {
      store.import_journal(journal.string());
      ADD_FAILURE() << "imported " << text;
    } catch (const StateError& e) {
      EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(journal.string()), std::string::npos) << e.what();
    }
    EXPECT_EQ(read_file(journal), text);
    EXPECT_FALSE(fs::exists(journal.string() + ".imported"));
  }
  EXPECT_FALSE(store.find("00112233445566778899aabbccddeeff"));
}

}  // namespace
}  // namespace certkey::daemon
