// Renewals in progress, in the state database, so that a daemon restart or crash between the
// two halves of a renewal loses nothing: the request can be fetched again and completed.
// The new key's slot is recorded before the key is made (docs/daemon.md, "Renewals").
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "state_db.hpp"

namespace certkey::daemon {

struct Renewal {
  std::string id;  // random, 32 hex digits
  std::uint32_t serial = 0;
  std::string certificate_id;  // the certificate being renewed
  std::string key_id;          // the new key
  std::string csr_pem;
  std::string origin;   // who started it ("" for a program on this computer)
  std::string created;  // ISO 8601
};

class RenewalStore {
 public:
  explicit RenewalStore(StateDb& db) : db_(db) {}
  // Moves renewals from the JSON journal of earlier versions into the database, once.
  void import_journal(const std::string& json_path);

  Renewal add(Renewal renewal);  // assigns the id and the time
  void set_csr(const std::string& id, const std::string& csr_pem);
  std::vector<std::string> key_ids_of(std::uint32_t serial);
  std::optional<Renewal> find(const std::string& id);
  void remove(const std::string& id);

 private:
  void insert(const Renewal& r, bool keep_existing = false);  // or leave a row of that id as it is
  StateDb& db_;
};

}  // namespace certkey::daemon
