// Command APDU decoding (ISO 7816-3 12.1, 7816-4 5.1): cases 1-4, short and extended.
#pragma once
#include <cstdint>

#include "bytes.hpp"

namespace certkey::agent {

struct CommandApdu {
  std::uint8_t cla = 0;
  std::uint8_t ins = 0;
  std::uint8_t p1 = 0;
  std::uint8_t p2 = 0;
  Bytes data;
  std::size_t ne = 0;  // maximum response length the host accepts; 0 = Le absent
  bool extended = false;

  bool chained() const;            // CLA chaining bit set
  std::uint8_t channel() const;    // logical channel 0-3
  std::uint8_t cla_class() const;  // CLA with chaining and channel bits cleared
};

// Returns false when the bytes are not a well-formed APDU of any case.
bool parse_command_apdu(Bytes raw, CommandApdu& out);

}  // namespace certkey::agent
