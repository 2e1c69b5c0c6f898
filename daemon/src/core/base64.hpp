// Base64 (RFC 4648 section 4) and its URL-safe form without padding (section 5), as JOSE
// (RFC 7515 section 2) and x5c (RFC 7515 section 4.1.6) use them.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace certkey::daemon {

std::string base64(const std::uint8_t* data, std::size_t size);
inline std::string base64(const std::vector<std::uint8_t>& bytes) {
  return base64(bytes.data(), bytes.size());
}
std::string base64url(const std::uint8_t* data, std::size_t size);
inline std::string base64url(const std::vector<std::uint8_t>& bytes) {
  return base64url(bytes.data(), bytes.size());
}
inline std::string base64url(std::string_view text) {
  return base64url(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

}  // namespace certkey::daemon
