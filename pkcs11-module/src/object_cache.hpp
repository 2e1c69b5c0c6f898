// The token's public objects kept between processes (docs/pkcs11.md, section 7.1): keyed by
// the token's serial and change counter, so a new process lists an unchanged token with the
// one TOKEN INFO its connect sends. The file holds nothing secret and decides nothing about
// keys or PINs: another process of the same user could write anything there, as it could to
// the token, so it only saves reads. Anything that does not parse, names another token or
// counter, or has the wrong owner or mode is ignored and rewritten.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "encoding.hpp"

namespace certkey::p11 {

// One key slot as the token described it: LIST KEYS' fields, the certificate and the public
// key template's contents (GET METADATA tag 04), both as read, either of them empty.
struct CachedSlot {
  std::uint8_t piv_slot = 0;
  std::uint8_t algorithm = 0;
  std::uint8_t pin_policy = 0;
  std::uint8_t origin = 0;
  Bytes certificate;
  Bytes public_key_template;
  bool operator==(const CachedSlot& other) const;
};

struct CachedObjects {
  std::uint32_t serial = 0;
  std::uint32_t change_counter = 0;
  std::vector<CachedSlot> slots;
};

// The file format (section 7.1), and its strict reader: nothing when the text is not exactly
// what encode_cache writes, or holds more slots or longer objects than a token can.
std::string encode_cache(const CachedObjects& objects);
std::optional<CachedObjects> decode_cache(const std::string& text);

class ObjectCache {
 public:
  // $XDG_CACHE_HOME/certkey, else $HOME/.cache/certkey (secure_getenv: never from the
  // environment of a set-user-ID program); empty when neither is set.
  static std::string default_directory();
  explicit ObjectCache(std::string directory) : directory_(std::move(directory)) {}

  // The objects of this token at this counter, if the file holds exactly them and is the
  // user's own, mode 0600.
  std::optional<std::vector<CachedSlot>> load(std::uint32_t serial,
                                              std::uint32_t change_counter) const;
  // Replaces the file atomically (a temporary file renamed over it). Best effort: where the
  // directory cannot be made or written, nothing is kept and nothing fails.
  void store(const CachedObjects& objects) const;

 private:
  std::string path_for(std::uint32_t serial) const;
  std::string directory_;
};

}  // namespace certkey::p11
