#include "hid_host_session.hpp"

#include <sys/random.h>

#include <algorithm>
#include <chrono>

namespace certkey::drivers::usbkey {

namespace hid = protocol::hid;
using protocol::HidAssembler;

TransmitStatus HidHostSession::send(std::uint32_t channel, hid::Command command, Bytes message) {
  std::uint8_t report[hid::kReportSize];
  if (!segmenter_.start(channel, command, message)) return TransmitStatus::failed;
  TransmitStatus status = TransmitStatus::ok;
  while (status == TransmitStatus::ok && segmenter_.next(MutableBytes(report, sizeof report))) {
    if (!link_.write_report(Bytes(report, sizeof report))) status = TransmitStatus::gone;
  }
  protocol::secure_zero(MutableBytes(report, sizeof report));  // the command may carry a PIN
  return status;
}

TransmitStatus HidHostSession::receive(std::uint32_t channel, Deadline deadline) {
  std::uint8_t report[hid::kReportSize];
  assembler_.reset();
  for (;;) {
    if (std::chrono::steady_clock::now() > deadline) return TransmitStatus::timeout;
    switch (link_.read_report(MutableBytes(report, sizeof report), kReportTimeoutMs)) {
      case HidReportLink::Read::gone: return TransmitStatus::gone;
      case HidReportLink::Read::timeout: return TransmitStatus::timeout;
      case HidReportLink::Read::report: break;
    }
    const HidAssembler::Result result = assembler_.feed(Bytes(report, sizeof report));
    protocol::secure_zero(MutableBytes(report, sizeof report));
    if (result == HidAssembler::Result::error) return TransmitStatus::failed;  // a broken stream
    if (result != HidAssembler::Result::complete) continue;
    if (assembler_.channel() != channel) continue;  // left over from an earlier session
    if (assembler_.command() == hid::Command::keepalive) {
      ++keepalives_;
      continue;
    }
    if (assembler_.command() == hid::Command::error) return TransmitStatus::failed;
    return TransmitStatus::ok;
  }
}

HidHostSession::Deadline HidHostSession::deadline_from_now() {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(kCommandTimeoutMs);
}

TransmitStatus HidHostSession::start() {
  stop();
  std::uint8_t nonce[hid::kInitNonceLength];
  if (::getrandom(nonce, sizeof nonce, 0) != static_cast<ssize_t>(sizeof nonce))
    return TransmitStatus::failed;
  const Deadline deadline = deadline_from_now();
  TransmitStatus status =
      send(hid::kBroadcastChannel, hid::Command::init, Bytes(nonce, sizeof nonce));
  // Answers to other INITs (a host that gave up on an earlier one) carry other nonces.
  while (status == TransmitStatus::ok) {
    status = receive(hid::kBroadcastChannel, deadline);
    if (status != TransmitStatus::ok) break;
    const Bytes answer = assembler_.message();
    if (assembler_.command() != hid::Command::init || answer.size() != sizeof nonce + 4)
      return TransmitStatus::failed;
    if (!std::equal(nonce, nonce + sizeof nonce, answer.begin())) continue;
    channel_ = protocol::load_be32(answer.data() + sizeof nonce);
    if (channel_ == hid::kReservedChannel || channel_ == hid::kBroadcastChannel)
      return stop(), TransmitStatus::failed;
    return TransmitStatus::ok;
  }
  return status;
}

TransmitStatus HidHostSession::transceive(Bytes command, MutableBytes response,
                                          std::size_t& length) {
  length = 0;
  // Refused before anything is sent: the session stays in step.
  if (!started() || command.size() > hid::kMaxMessage) return TransmitStatus::failed;
  TransmitStatus status = send(channel_, hid::Command::msg, command);
  if (status == TransmitStatus::ok) status = receive(channel_, deadline_from_now());
  const Bytes message = assembler_.message();
  if (status == TransmitStatus::ok &&
      (assembler_.command() != hid::Command::msg || message.size() < 2)) {
    status = TransmitStatus::failed;
  }
  if (status != TransmitStatus::ok) {
    // Out of step with the token (no answer, an error frame, a broken stream), or the key is
    // gone: its card state is unknown now, so the driver reports it removed, and pcscd powers
    // it up afresh (a new INIT) when it is seen again.
    assembler_.reset();
    stop();
    return TransmitStatus::gone;
  }
  if (message.size() > response.size()) {
    assembler_.reset();
    return TransmitStatus::failed;
  }
  std::copy(message.begin(), message.end(), response.begin());
  length = message.size();
  assembler_.reset();  // wipes the copy
  return TransmitStatus::ok;
}

}  // namespace certkey::drivers::usbkey
