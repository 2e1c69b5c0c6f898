// The HID framing of hid_frame.hpp, as code both ends share: the token's USB
// firmware and the host's USB KEY driver. Freestanding: fixed buffers, no allocation.
#pragma once
#include <certkey/protocol/hid_frame.hpp>

#include <certkey/protocol/bytes.hpp>

namespace certkey::protocol {

// Reassembles one message from reports. Feed reports in arrival order; a report of another
// channel while a message is in progress answers `busy` and leaves the message alone.
class HidAssembler {
 public:
  enum class Result : std::uint8_t { incomplete, complete, error, ignored };

  // `report` must be hid::kReportSize bytes.
  Result feed(Bytes report);
  // Valid after `complete`: the message's channel, command and data.
  std::uint32_t channel() const { return channel_; }
  hid::Command command() const { return command_; }
  Bytes message() const { return Bytes(buffer_, length_); }
  // Valid after `error`: what to answer, on which channel.
  hid::Error error() const { return error_; }
  std::uint32_t error_channel() const { return error_channel_; }
  void reset();

 private:
  Result fail(hid::Error error, std::uint32_t channel);

  std::uint8_t buffer_[hid::kMaxMessage] = {};
  std::size_t length_ = 0;
  std::size_t received_ = 0;
  std::uint32_t channel_ = 0;
  hid::Command command_ = hid::Command::msg;
  std::uint8_t next_sequence_ = 0;
  bool active_ = false;
  hid::Error error_ = hid::Error::other;
  std::uint32_t error_channel_ = 0;
};

// Cuts one message into reports: call next() until it returns false.
class HidSegmenter {
 public:
  // False when the message is too long for the framing.
  bool start(std::uint32_t channel, hid::Command command, Bytes message);
  // Writes the next report (hid::kReportSize bytes, zero-padded); false when done.
  bool next(MutableBytes report);

 private:
  std::uint32_t channel_ = 0;
  hid::Command command_ = hid::Command::msg;
  Bytes message_;
  std::size_t sent_ = 0;
  std::uint8_t sequence_ = 0;
  bool started_ = false;
  bool done_ = true;
};

}  // namespace certkey::protocol
