#include "object_cache.hpp"

#include <certkey/protocol/limits.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace certkey::p11 {
namespace {

constexpr char kHeader[] = "certkey-objects 1";
constexpr std::size_t kMostSlots = 25;  // 9A, 9C, 9D, 9E, 82-95 and room to spare
// A file that could hold the most slots with the longest objects, as hex.
constexpr std::size_t kLongestFile =
    kMostSlots * (2 * protocol::kMaxDataObject + 2 * 600 + 64) + 64;

std::string hex(const Bytes& bytes) {
  if (bytes.empty()) return "-";
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

std::optional<Bytes> unhex(const std::string& text, std::size_t longest) {
  if (text == "-") return Bytes{};
  if (text.empty() || text.size() % 2 != 0 || text.size() / 2 > longest) return std::nullopt;
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    out[i / 2] = static_cast<std::uint8_t>(out[i / 2] << 4 | v);
  }
  return out;
}

// Exactly `digits` lower-case hex digits.
std::optional<std::uint32_t> hex_number(const std::string& text, std::size_t digits) {
  std::optional<Bytes> bytes = text.size() == digits ? unhex(text, digits / 2) : std::nullopt;
  if (!bytes || bytes->empty()) return std::nullopt;
  std::uint32_t value = 0;
  for (const std::uint8_t b : *bytes) value = value << 8 | b;
  return value;
}

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::optional<CachedSlot> decode_slot(const std::vector<std::string>& w) {
  if (w.size() != 7 || w[0] != "slot") return std::nullopt;
  std::optional<std::uint32_t> fields[4];
  for (int i = 0; i < 4; ++i) fields[i] = hex_number(w[1 + i], 2);
  std::optional<Bytes> certificate = unhex(w[5], protocol::kMaxCertificate);
  std::optional<Bytes> key = unhex(w[6], protocol::kMaxResponseData);
  if (!fields[0] || !fields[1] || !fields[2] || !fields[3] || !certificate || !key)
    return std::nullopt;
  CachedSlot slot;
  slot.piv_slot = static_cast<std::uint8_t>(*fields[0]);
  slot.algorithm = static_cast<std::uint8_t>(*fields[1]);
  slot.pin_policy = static_cast<std::uint8_t>(*fields[2]);
  slot.origin = static_cast<std::uint8_t>(*fields[3]);
  slot.certificate = std::move(*certificate);
  slot.public_key_template = std::move(*key);
  return slot;
}

std::string byte_hex(std::uint8_t b) {
  char text[3];
  std::snprintf(text, sizeof text, "%02x", b);
  return text;
}

}  // namespace

bool CachedSlot::operator==(const CachedSlot& o) const {
  return piv_slot == o.piv_slot && algorithm == o.algorithm && pin_policy == o.pin_policy &&
         origin == o.origin && certificate == o.certificate &&
         public_key_template == o.public_key_template;
}

std::string encode_cache(const CachedObjects& objects) {
  char numbers[64];
  std::snprintf(numbers, sizeof numbers, "serial %08x\ncounter %08x\n", objects.serial,
                objects.change_counter);
  std::string out = std::string(kHeader) + "\n" + numbers;
  for (const CachedSlot& s : objects.slots) {
    out += "slot " + byte_hex(s.piv_slot) + " " + byte_hex(s.algorithm) + " " +
           byte_hex(s.pin_policy) + " " + byte_hex(s.origin) + " " + hex(s.certificate) + " " +
           hex(s.public_key_template) + "\n";
  }
  return out;
}

std::optional<CachedObjects> decode_cache(const std::string& text) {
  if (text.size() > kLongestFile || text.empty() || text.back() != '\n') return std::nullopt;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || line != kHeader) return std::nullopt;
  CachedObjects objects;
  std::vector<std::string> w;
  std::optional<std::uint32_t> serial, counter;
  if (std::getline(in, line) && (w = words(line)).size() == 2 && w[0] == "serial")
    serial = hex_number(w[1], 8);
  if (std::getline(in, line) && (w = words(line)).size() == 2 && w[0] == "counter")
    counter = hex_number(w[1], 8);
  if (!serial || !counter) return std::nullopt;
  objects.serial = *serial;
  objects.change_counter = *counter;
  while (std::getline(in, line)) {
    std::optional<CachedSlot> slot = decode_slot(words(line));
    if (!slot || objects.slots.size() == kMostSlots) return std::nullopt;
    objects.slots.push_back(std::move(*slot));
  }
  // Only what encode_cache writes: the same text back, byte for byte.
  if (encode_cache(objects) != text) return std::nullopt;
  return objects;
}

std::string ObjectCache::default_directory() {
  if (const char* cache = ::secure_getenv("XDG_CACHE_HOME"); cache && cache[0] == '/') {
    return std::string(cache) + "/certkey";
  }
  if (const char* home = ::secure_getenv("HOME"); home && home[0] == '/')
    return std::string(home) + "/.cache/certkey";
  return {};
}

std::string ObjectCache::path_for(std::uint32_t serial) const {
  char name[32];
  std::snprintf(name, sizeof name, "/%08x.objects", serial);
  return directory_ + name;
}

std::optional<std::vector<CachedSlot>> ObjectCache::load(std::uint32_t serial,
                                                         std::uint32_t change_counter) const {
  if (directory_.empty()) return std::nullopt;
  const int fd = ::open(path_for(serial).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::string text;
  // The user's own regular file, readable and writable by the user alone.
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
      (st.st_mode & 07777) == 0600 && static_cast<std::size_t>(st.st_size) <= kLongestFile) {
    text.resize(static_cast<std::size_t>(st.st_size));
    if (::read(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) text.clear();
  }
  ::close(fd);
  std::optional<CachedObjects> objects = decode_cache(text);
  if (!objects || objects->serial != serial || objects->change_counter != change_counter)
    return std::nullopt;
  return std::move(objects->slots);
}

void ObjectCache::store(const CachedObjects& objects) const {
  if (directory_.empty()) return;
  const std::size_t parent = directory_.rfind('/');
  if (parent != std::string::npos && parent > 0)
    ::mkdir(directory_.substr(0, parent).c_str(), 0700);
  ::mkdir(directory_.c_str(), 0700);
  std::string temporary = directory_ + "/.objects-XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) return;
  const std::string text = encode_cache(objects);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fdatasync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(temporary.c_str(), path_for(objects.serial).c_str()) != 0)
    ::unlink(temporary.c_str());
}

}  // namespace certkey::p11
