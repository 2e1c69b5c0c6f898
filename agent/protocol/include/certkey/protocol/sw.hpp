// Status words the token returns (ISO 7816-4 section 5.6, SP 800-73-4 Table 6).
#pragma once
#include <cstdint>

namespace certkey::protocol {

enum class Sw : std::uint16_t {
  ok = 0x9000,
  bytes_remaining = 0x6100,  // low byte: bytes still available through GET RESPONSE
  memory_failure = 0x6581,   // a persistent write failed; state is unchanged
  wrong_length = 0x6700,
  channel_not_supported = 0x6881,  // logical channel not open, or none free
  last_command_expected = 0x6883,
  security_status_not_satisfied = 0x6982,
  authentication_blocked = 0x6983,
  conditions_not_satisfied = 0x6985,
  incorrect_data = 0x6A80,
  function_not_supported = 0x6A81,
  not_found = 0x6A82,
  not_enough_memory = 0x6A84,
  incorrect_p1p2 = 0x6A86,
  reference_not_found = 0x6A88,
  wrong_p1p2 = 0x6B00,
  wrong_le = 0x6C00,  // low byte: the exact length to ask for
  ins_not_supported = 0x6D00,
  cla_not_supported = 0x6E00,
  unknown = 0x6F00,
  verify_failed = 0x63C0,  // low nibble: retries left
};

constexpr std::uint16_t to_u16(Sw sw) { return static_cast<std::uint16_t>(sw); }
constexpr Sw sw_retries_left(unsigned n) { return static_cast<Sw>(0x63C0 | (n > 15 ? 15 : n)); }
constexpr Sw sw_bytes_remaining(unsigned n) {
  return static_cast<Sw>(0x6100 | (n > 255 ? 0 : n));  // 6100 means "256 or more"
}

// Reading a status word on the host: the families whose low byte carries a number.
constexpr bool is_verify_failed(std::uint16_t sw) {
  return (sw & 0xFFF0) == to_u16(Sw::verify_failed);
}
// 63Cx: the tries left; -1 for any other status word.
constexpr int retries_left(std::uint16_t sw) { return is_verify_failed(sw) ? (sw & 0x0F) : -1; }
// 61xx: more response bytes wait for GET RESPONSE.
constexpr bool has_more_bytes(std::uint16_t sw) {
  return (sw & 0xFF00) == to_u16(Sw::bytes_remaining);
}
// 6Cxx: the command must be repeated with Le = the low byte.
constexpr bool is_wrong_le(std::uint16_t sw) { return (sw & 0xFF00) == to_u16(Sw::wrong_le); }

}  // namespace certkey::protocol
