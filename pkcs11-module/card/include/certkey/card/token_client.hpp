// The token command set as host calls: each method builds its APDUs and parses the answer.
// This library is the only host code that does either (DESIGN.md section 2).
#pragma once
#include <certkey/protocol/algorithms.hpp>
#include <array>
#include <optional>
#include <string>

#include "pcsc.hpp"
#include "unlock.hpp"

namespace certkey::card {

struct TokenInfo {
  std::uint32_t serial = 0;
  protocol::Medium medium = protocol::Medium::smartcard;
  std::array<std::uint8_t, 3> firmware{};
  std::uint32_t change_counter = 0;
  std::uint8_t policy = 0;
  std::optional<std::pair<int, int>> unlock_retries;  // limit, remaining; absent: no unlock key
};

class TokenClient {
 public:
  explicit TokenClient(PcscConnection& connection) : connection_(connection) {}

  void select_piv();
  TokenInfo token_info();
  // PIN status (empty pin) or verification. The response carries 9000 / 63Cx / 6983.
  Response verify_pin(const std::string& pin);
  void authenticate_management(const Bytes& key, protocol::Algorithm algorithm);

  // Remote unlock (docs/unlock.md).
  void set_unlock_key(const Bytes& key, std::uint8_t retries);
  unlock::Code unlock_challenge();
  // Sends the help desk's response and the holder's new PIN; the status word tells the result.
  Response unlock_with_response(const unlock::Code& response, const std::string& new_pin);

 private:
  Response send(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, Bytes data = {});
  PcscConnection& connection_;
};

// The 8-byte PIN block: 6-8 characters, right-padded with 0xFF.
Bytes pin_block(const std::string& pin);

}  // namespace certkey::card
