// Renewals in progress, kept on disk so that a daemon restart or crash between the two
// halves of a renewal loses nothing: the request can be fetched again and completed. Each
// change rewrites the file atomically (a temporary file, fsync, rename), so the journal is
// always the old or the new version, never half of one.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace certkey::daemon {

struct Renewal {
  std::string id;  // random, 32 hex digits
  std::uint32_t serial = 0;
  std::string certificate_id;  // the certificate being renewed
  std::string key_id;          // the new key
  std::string csr_pem;
  std::string origin;  // who started it; only the same origin may see or complete it
  std::string created;  // ISO 8601
};

class RenewalJournal {
 public:
  // Loads `path` if it exists; throws ApiError(internal_error) if it is unreadable.
  explicit RenewalJournal(std::string path);

  const Renewal& add(Renewal renewal);  // assigns the id
  const Renewal& set_csr(const std::string& id, const std::string& csr_pem);
  // The key slots claimed by renewals in progress on this token.
  std::vector<std::string> key_ids_of(std::uint32_t serial) const;
  std::optional<Renewal> find(const std::string& id) const;
  void remove(const std::string& id);

 private:
  void save() const;

  std::string path_;
  std::map<std::string, Renewal> renewals_;
};

}  // namespace certkey::daemon
