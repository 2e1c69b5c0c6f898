#include "renewal_journal.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../api/error_code.hpp"

namespace certkey::daemon {
namespace {

std::string random_id() {
  std::uint8_t bytes[16];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    throw ApiError(ErrorCode::internal_error, "no randomness for a renewal id");
  }
  char out[33];
  for (std::size_t i = 0; i < sizeof bytes; ++i) std::snprintf(out + 2 * i, 3, "%02x", bytes[i]);
  return out;
}

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

}  // namespace

RenewalJournal::RenewalJournal(std::string path) : path_(std::move(path)) {
  std::ifstream in(path_);
  if (!in) {
    if (errno == ENOENT) return;  // no renewal yet; anything else must not be overwritten
    throw ApiError(ErrorCode::internal_error, "cannot read the renewal journal " + path_);
  }
  try {
    const nlohmann::json journal = nlohmann::json::parse(in);  // must outlive the loop
    for (const auto& r : journal.at("renewals")) {
      Renewal renewal{r.at("id"), r.at("serial"), r.at("certificate_id"), r.at("key_id"),
                      r.at("csr"), r.at("origin"), r.at("created")};
      renewals_[renewal.id] = renewal;
    }
  } catch (const nlohmann::json::exception& e) {
    throw ApiError(ErrorCode::internal_error, "the renewal journal " + path_ + " is damaged: " + e.what());
  }
}

const Renewal& RenewalJournal::add(Renewal renewal) {
  renewal.id = random_id();
  renewal.created = now_iso();
  const std::string id = renewal.id;
  renewals_[id] = std::move(renewal);
  try {
    save();
  } catch (...) {
    renewals_.erase(id);  // what is not on disk is not in progress
    throw;
  }
  return renewals_[id];
}

const Renewal& RenewalJournal::set_csr(const std::string& id, const std::string& csr_pem) {
  Renewal& renewal = renewals_.at(id);
  renewal.csr_pem = csr_pem;
  save();
  return renewal;
}

std::vector<std::string> RenewalJournal::key_ids_of(std::uint32_t serial) const {
  std::vector<std::string> ids;
  for (const auto& [id, r] : renewals_) {
    if (r.serial == serial) ids.push_back(r.key_id);
  }
  return ids;
}

std::optional<Renewal> RenewalJournal::find(const std::string& id) const {
  auto it = renewals_.find(id);
  if (it == renewals_.end()) return std::nullopt;
  return it->second;
}

void RenewalJournal::remove(const std::string& id) {
  if (renewals_.erase(id)) save();
}

void RenewalJournal::save() const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, r] : renewals_) {
    list.push_back({{"id", r.id}, {"serial", r.serial}, {"certificate_id", r.certificate_id}, {"key_id", r.key_id},
                    {"csr", r.csr_pem}, {"origin", r.origin}, {"created", r.created}});
  }
  const std::string text = nlohmann::json{{"renewals", list}}.dump(2) + "\n";
  const std::string temporary = path_ + ".new";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  if (fd >= 0) ok = ::close(fd) == 0 && ok;
  if (!ok || std::rename(temporary.c_str(), path_.c_str()) != 0) {
    ::unlink(temporary.c_str());
    throw ApiError(ErrorCode::internal_error, "cannot write the renewal journal " + path_);
  }
  // The rename itself reaches the disk only with the directory.
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  const int dir = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace certkey::daemon
