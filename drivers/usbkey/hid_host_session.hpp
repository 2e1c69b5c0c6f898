// The host's side of the USB KEY's HID framing (docs/hid.md), over either report link:
// INIT for a channel (which also resets the card), then one APDU at a time, waiting through
// keep-alives while the token works.
#pragma once
#include <chrono>

#include "hid_report_link.hpp"
#include <certkey/protocol/hid_framing.hpp>

namespace certkey::drivers::usbkey {

class HidHostSession {
 public:
  // Silence between two reports longer than this means the token hangs; a keep-alive
  // restarts the wait.
  static constexpr int kReportTimeoutMs = 5000;
  // Even with keep-alives, no command takes longer (RSA-2048 generation on a slow token
  // takes well under a minute).
  static constexpr int kCommandTimeoutMs = 120000;

  explicit HidHostSession(HidReportLink& link) : link_(link) {}

  // Allocates a channel with INIT; the token resets its card state.
  TransmitStatus start();
  // One APDU. Anything but a clean answer ends the session and reports the key gone: the
  // token's state is unknown then, and only a new INIT puts the two back in step.
  TransmitStatus transceive(Bytes command, MutableBytes response, std::size_t& length);
  bool started() const { return channel_ != protocol::hid::kReservedChannel; }
  void stop() { channel_ = protocol::hid::kReservedChannel; }
  std::uint64_t keepalives() const { return keepalives_; }

 private:
  using Deadline = std::chrono::steady_clock::time_point;
  static Deadline deadline_from_now();
  TransmitStatus send(std::uint32_t channel, protocol::hid::Command command, Bytes message);
  // Reads reports until a message for `channel` completes; keep-alives extend the wait up to
  // `deadline`.
  TransmitStatus receive(std::uint32_t channel, Deadline deadline);

  HidReportLink& link_;
  protocol::HidAssembler assembler_;
  protocol::HidSegmenter segmenter_;
  std::uint32_t channel_ = protocol::hid::kReservedChannel;
  std::uint64_t keepalives_ = 0;
};

}  // namespace certkey::drivers::usbkey
