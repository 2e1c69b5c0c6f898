// Command and response APDUs as the host builds and reads them.
#pragma once
#include <certkey/protocol/sw.hpp>
#include <cstdint>
#include <vector>

namespace certkey::card {

using Bytes = std::vector<std::uint8_t>;

struct Command {
  std::uint8_t cla = 0, ins = 0, p1 = 0, p2 = 0;
  Bytes data;
  // Secrets (PINs, keys) in `data` are wiped when the command goes away.
  ~Command();
};

struct Response {
  Bytes data;
  std::uint16_t sw = 0;
  bool ok() const { return is(protocol::Sw::ok); }
  bool is(protocol::Sw status) const { return sw == protocol::to_u16(status); }
  // 63Cx: retries left; -1 otherwise.
  int retries_left() const { return protocol::retries_left(sw); }
};

// Short-APDU encodings of one command: several CLA|10 blocks when the data exceeds 255 bytes.
std::vector<Bytes> encode_short(const Command& command);
// One extended-length APDU (ISO 7816-4 case 2E/4E, Le = 65536): whole data, whole response.
Bytes encode_extended(const Command& command);
// Splits raw response bytes into data and status word.
Response decode_response(const Bytes& raw);

void wipe(Bytes& bytes);

}  // namespace certkey::card
