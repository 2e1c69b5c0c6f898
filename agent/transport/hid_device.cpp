#include "hid_device.hpp"

namespace certkey::agent::transport {

bool HidDevice::send(std::uint32_t channel, hid::Command command, Bytes message,
                     HidReportSink& sink) {
  std::uint8_t report[hid::kReportSize];
  if (!segmenter_.start(channel, command, message)) return false;
  while (segmenter_.next(MutableBytes(report, sizeof report))) {
    if (!sink.send_report(Bytes(report, sizeof report))) return false;
  }
  return true;
}

HidDevice::Event HidDevice::answer_init(HidReportSink& sink) {
  // A new session replaces the old one: its channel stops being answered, and the card
  // state is reset, the way a CCID reader powers the card up again.
  channel_ = next_channel_++;
  if (next_channel_ == hid::kBroadcastChannel) next_channel_ = 1;
  std::uint8_t answer[hid::kInitNonceLength + 4];
  const Bytes nonce = assembler_.message();
  for (std::size_t i = 0; i < hid::kInitNonceLength; ++i) answer[i] = nonce[i];
  store_be32(answer + hid::kInitNonceLength, channel_);
  send(hid::kBroadcastChannel, hid::Command::init, Bytes(answer, sizeof answer), sink);
  return Event::reset;
}

HidDevice::Event HidDevice::feed(Bytes report, HidReportSink& sink) {
  const HidAssembler::Result result = assembler_.feed(report);
  if (result == HidAssembler::Result::error) {
    const std::uint8_t code = static_cast<std::uint8_t>(assembler_.error());
    send(assembler_.error_channel(), hid::Command::error, Bytes(&code, 1), sink);
    return Event::none;
  }
  if (result != HidAssembler::Result::complete) return Event::none;
  const hid::Command command = assembler_.command();
  std::uint8_t code = static_cast<std::uint8_t>(hid::Error::invalid_command);
  if (command == hid::Command::init) {
    if (assembler_.message().size() == hid::kInitNonceLength) return answer_init(sink);
    code =
        static_cast<std::uint8_t>(hid::Error::invalid_length);  // an INIT answer sent to the token
  }
  if (command == hid::Command::msg) {
    if (assembler_.channel() == channel_) return Event::apdu;
    code = static_cast<std::uint8_t>(hid::Error::invalid_channel);  // no INIT, or an old session
  }
  const std::uint32_t channel = assembler_.channel();
  assembler_.reset();  // wipes a refused command, which may carry a PIN
  send(channel, hid::Command::error, Bytes(&code, 1), sink);
  return Event::none;
}

bool HidDevice::respond(Bytes response, HidReportSink& sink) {
  assembler_.reset();  // wipes the command, which may have carried a PIN
  return send(channel_, hid::Command::msg, response, sink);
}

bool HidDevice::keepalive(HidReportSink& sink) {
  const std::uint8_t status = static_cast<std::uint8_t>(hid::KeepaliveStatus::processing);
  return send(channel_, hid::Command::keepalive, Bytes(&status, 1), sink);
}

void HidDevice::disconnect() {
  assembler_.reset();
  channel_ = hid::kReservedChannel;
}

}  // namespace certkey::agent::transport
