// libFuzzer target for the SD KEY command-file parsers (agent/protocol/src/sd_framing.cpp), which
// read what a card, or a card pulled mid-read, left in a file. Invariants: accepted data lies
// inside the input and within the format's bounds, and re-encoding it gives a frame that
// parses to the same bytes.
#include <cstring>
#include <vector>

#include <certkey/protocol/sd_framing.hpp>

using namespace certkey::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes in(data, size);
  std::uint32_t sequence = 0;
  Bytes apdu;
  if (parse_sd_command(in, sequence, apdu)) {
    if (apdu.size() > sd::kMaxCommand || apdu.data() < data ||
        apdu.data() + apdu.size() > data + size)
      __builtin_trap();
    std::vector<std::uint8_t> out(sd::kCommandArea);
    std::size_t n = encode_sd_command(sequence, apdu, MutableBytes(out.data(), out.size()));
    std::uint32_t again_sequence = 0;
    Bytes again;
    if (n == 0 || !parse_sd_command(Bytes(out.data(), n), again_sequence, again) ||
        again_sequence != sequence || again.size() != apdu.size() ||
        std::memcmp(again.data(), apdu.data(), apdu.size()) != 0) {
      __builtin_trap();
    }
  }
  SdFragment fragment;
  if (parse_sd_fragment(in, fragment)) {
    if (fragment.data.size() > sd::kFragmentData || fragment.index >= fragment.count)
      __builtin_trap();
  }
  return 0;
}
