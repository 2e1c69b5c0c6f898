// Bytes as lower-case hex, the way the API names key and certificate ids (PKCS#11 CKA_ID).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace certkey::daemon {

inline std::string hex(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace certkey::daemon
