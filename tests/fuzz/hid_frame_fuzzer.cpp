// libFuzzer target for the HID frame reassembly shared by the USB KEY firmware and its host
// driver (agent/protocol/src/hid_framing.cpp): any sequence of 64-byte reports. Invariants: a
// complete message never exceeds its declared length or the framing's maximum, and a
// segmented copy of it reassembles to the same bytes.
#include <cstring>

#include <certkey/protocol/hid_framing.hpp>

using namespace certkey::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static HidAssembler assembler;
  assembler.reset();
  for (; size >= hid::kReportSize; data += hid::kReportSize, size -= hid::kReportSize) {
    if (assembler.feed(Bytes(data, hid::kReportSize)) != HidAssembler::Result::complete) continue;
    Bytes message = assembler.message();
    if (message.size() > hid::kMaxMessage) __builtin_trap();
    HidSegmenter segmenter;
    if (!segmenter.start(assembler.channel(), assembler.command(), message)) __builtin_trap();
    static HidAssembler again;
    again.reset();
    std::uint8_t report[hid::kReportSize];
    HidAssembler::Result r = HidAssembler::Result::incomplete;
    while (segmenter.next(MutableBytes(report, sizeof report)))
      r = again.feed(Bytes(report, sizeof report));
    if (r != HidAssembler::Result::complete || again.message().size() != message.size() ||
        std::memcmp(again.message().data(), message.data(), message.size()) != 0) {
      __builtin_trap();
    }
  }
  return 0;
}
