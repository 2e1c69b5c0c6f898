#include <certkey/protocol/hid_framing.hpp>

namespace certkey::protocol {

void HidAssembler::reset() {
  secure_zero(MutableBytes(buffer_, length_));  // messages carry PINs
  length_ = received_ = 0;
  next_sequence_ = 0;
  active_ = false;
}

HidAssembler::Result HidAssembler::fail(hid::Error error, std::uint32_t channel) {
  error_ = error;
  error_channel_ = channel;
  return Result::error;
}

HidAssembler::Result HidAssembler::feed(Bytes report) {
  if (report.size() != hid::kReportSize) return fail(hid::Error::invalid_length, 0);
  const std::uint32_t channel = load_be32(report.data());
  const std::uint8_t type = report[4];
  if (channel == hid::kReservedChannel) return fail(hid::Error::invalid_channel, channel);

  if (type & hid::kInitialBit) {
    if (active_ && channel != channel_) return fail(hid::Error::busy, channel);
    reset();  // a new initial frame on the same channel replaces an unfinished message
    // Which commands a side accepts is the caller's business; here each has its length.
    const auto command = static_cast<hid::Command>(type);
    const std::size_t length = load_be16(report.data() + 5);
    bool length_ok = length <= hid::kMaxMessage;
    switch (command) {
      case hid::Command::msg: break;
      case hid::Command::init:  // request: nonce; answer: nonce || channel
        length_ok = length == hid::kInitNonceLength || length == hid::kInitNonceLength + 4;
        break;
      case hid::Command::keepalive:
      case hid::Command::error: length_ok = length == 1; break;
      default: return fail(hid::Error::invalid_command, channel);
    }
    if ((command == hid::Command::init) != (channel == hid::kBroadcastChannel)) {
      return fail(hid::Error::invalid_channel, channel);
    }
    if (!length_ok) return fail(hid::Error::invalid_length, channel);
    channel_ = channel;
    command_ = command;
    length_ = length;
    const std::size_t n = length < hid::kInitialData ? length : hid::kInitialData;
    for (std::size_t i = 0; i < n; ++i) buffer_[i] = report[hid::kInitialHeader + i];
    received_ = n;
    active_ = received_ < length_;
    return active_ ? Result::incomplete : Result::complete;
  }

  // A continuation: only for the message in progress, in order.
  if (!active_) return Result::ignored;  // a stray continuation, as after a reset
  if (channel != channel_) return fail(hid::Error::busy, channel);
  if (type != next_sequence_) {
    reset();
    return fail(hid::Error::invalid_sequence, channel);
  }
  const std::size_t left = length_ - received_;
  const std::size_t n = left < hid::kContinuationData ? left : hid::kContinuationData;
  for (std::size_t i = 0; i < n; ++i) buffer_[received_ + i] = report[hid::kContinuationHeader + i];
  received_ += n;
  ++next_sequence_;
  active_ = received_ < length_;
  return active_ ? Result::incomplete : Result::complete;
}

bool HidSegmenter::start(std::uint32_t channel, hid::Command command, Bytes message) {
  if (message.size() > hid::kMaxMessage) return false;
  channel_ = channel;
  command_ = command;
  message_ = message;
  sent_ = 0;
  sequence_ = 0;
  started_ = false;
  done_ = false;
  return true;
}

bool HidSegmenter::next(MutableBytes report) {
  if (done_ || report.size() < hid::kReportSize) return false;
  for (std::size_t i = 0; i < hid::kReportSize; ++i) report[i] = 0;
  store_be32(report.data(), channel_);
  std::size_t header, room;
  if (!started_) {
    report[4] = static_cast<std::uint8_t>(command_);
    store_be16(report.data() + 5, static_cast<std::uint16_t>(message_.size()));
    header = hid::kInitialHeader;
    room = hid::kInitialData;
    started_ = true;
  } else {
    report[4] = sequence_++;
    header = hid::kContinuationHeader;
    room = hid::kContinuationData;
  }
  const std::size_t left = message_.size() - sent_;
  const std::size_t n = left < room ? left : room;
  for (std::size_t i = 0; i < n; ++i) report[header + i] = message_[sent_ + i];
  sent_ += n;
  done_ = sent_ == message_.size();
  return true;
}

}  // namespace certkey::protocol
