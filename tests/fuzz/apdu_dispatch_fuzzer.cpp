// libFuzzer target for the token's command path: APDU decoding, chaining, GET RESPONSE,
// TLV parsing and every applet handler, on the same SimToken the simulator runs.
//
// Input: a sequence of APDUs, each prefixed by a 2-byte big-endian length. The token keeps
// its flash across inputs (like a real card across sessions) and loses power after each
// input, so volatile state starts clean.
#include <filesystem>
#include <string>

#include "sim/sim_token.hpp"

using certkey::agent::Bytes;
using certkey::agent::MutableBytes;
using certkey::agent::sim::SimToken;

namespace {
SimToken& token() {
  static SimToken* t = [] {
    std::string path = std::filesystem::temp_directory_path() /
                       ("certkey-fuzz-" + std::to_string(::getpid()) + ".bin");
    std::filesystem::remove(path);
    auto* created = new SimToken(path, certkey::agent::piv::Identity{12345678});
    if (!created->boot()) __builtin_trap();
    return created;
  }();
  return *t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::uint8_t response[certkey::protocol::kMaxResponseApdu];
  SimToken& t = token();
  while (size >= 2) {
    std::size_t length = (std::size_t{data[0]} << 8) | data[1];
    data += 2;
    size -= 2;
    if (length > size) length = size;
    std::size_t n = t.transmit(Bytes(data, length), MutableBytes(response, sizeof response));
    if (n < 2 || n > sizeof response) __builtin_trap();  // every APDU gets a status word
    data += length;
    size -= length;
  }
  t.power_off();
  return 0;
}
