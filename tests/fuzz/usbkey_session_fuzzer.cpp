// libFuzzer target for the USB KEY driver's side of the HID link (drivers/usbkey/
// hid_host_session.*): whatever reports a broken or hostile key sends back. The input's
// first 4 bytes are the channel the key grants to INIT (answered with the host's own nonce,
// so the session starts); the rest is cut into 64-byte reports that answer one APDU.
// Invariants: no crash, no read past the input, a response never larger than the buffer.
#include <algorithm>
#include <cstring>

#include "usbkey/hid_host_session.hpp"

using namespace certkey::drivers;
using namespace certkey::drivers::usbkey;
namespace hid = certkey::protocol::hid;

namespace {

class ReplayedKey final : public HidReportLink {
 public:
  ReplayedKey(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool open() override { return true; }
  void close() override {}
  bool is_open() const override { return true; }
  bool alive() override { return true; }
  bool write_report(Bytes report) override {
    // The INIT request: answer it with its nonce and the input's channel.
    if (report[4] == static_cast<std::uint8_t>(hid::Command::init) && size_ >= 4) {
      std::uint8_t message[hid::kInitNonceLength + 4];
      std::memcpy(message, report.data() + hid::kInitialHeader, hid::kInitNonceLength);
      std::memcpy(message + hid::kInitNonceLength, data_, 4);
      data_ += 4;
      size_ -= 4;
      segmenter_.start(hid::kBroadcastChannel, hid::Command::init, Bytes(message, sizeof message));
      segmenter_.next(MutableBytes(init_answer_, sizeof init_answer_));
      init_pending_ = true;
    }
    return true;
  }
  Read read_report(MutableBytes report, int) override {
    if (init_pending_) {
      init_pending_ = false;
      std::copy(init_answer_, init_answer_ + sizeof init_answer_, report.begin());
      return Read::report;
    }
    if (size_ < hid::kReportSize) return Read::gone;
    std::copy(data_, data_ + hid::kReportSize, report.begin());
    data_ += hid::kReportSize;
    size_ -= hid::kReportSize;
    return Read::report;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  certkey::protocol::HidSegmenter segmenter_;
  std::uint8_t init_answer_[hid::kReportSize] = {};
  bool init_pending_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ReplayedKey key(data, size);
  HidHostSession session(key);
  if (session.start() != TransmitStatus::ok) return 0;
  static std::uint8_t response[300];
  const std::uint8_t select[] = {0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08};
  std::size_t length = 0;
  if (session.transceive(Bytes(select, sizeof select), MutableBytes(response, sizeof response),
                         length) == TransmitStatus::ok &&
      (length < 2 || length > sizeof response)) {
    __builtin_trap();
  }
  return 0;
}
