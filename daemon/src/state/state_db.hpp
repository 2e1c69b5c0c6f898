// certkeyd's durable state in SQLite (DESIGN.md section 6): WAL, synchronous FULL, so that
// a write that returned is on disk. A database that cannot be read, is damaged, or was
// written by a newer certkeyd is refused with an error that says so, and never overwritten.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace certkey::daemon {

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StateDb {
 public:
  // Opens or creates the database and brings its schema up to date. Throws StateError.
  explicit StateDb(const std::string& path);
  ~StateDb();
  StateDb(const StateDb&) = delete;
  StateDb& operator=(const StateDb&) = delete;

  sqlite3* handle() const { return db_; }
  // Held for each read or write, so that a statement and its error message belong together.
  std::mutex& mutex() { return mutex_; }
  const std::string& path() const { return path_; }
  // Runs SQL without results. Throws StateError.
  void exec(const char* sql);

 private:
  void check_integrity();
  int schema_version();
  void check_version();
  void migrate();

  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

// One prepared statement; bind indexes start at 1, columns at 0. Throws StateError.
class Statement {
 public:
  Statement(const StateDb& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);
  // True while there is a row to read.
  bool step();
  void run() { step(); }
  std::string text(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
};

}  // namespace certkey::daemon
