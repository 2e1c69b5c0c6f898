// The token's side of the USB KEY's HID link (docs/hid.md): takes the host's reports,
// answers INIT, hands complete APDUs to the caller and sends its responses, keep-alives and
// errors back as reports. Freestanding: fixed buffers, reports leave through a sink.
#pragma once
#include <certkey/protocol/hid_framing.hpp>

#include "../core/bytes.hpp"

namespace certkey::agent::transport {

namespace hid = protocol::hid;
using protocol::HidAssembler;
using protocol::HidSegmenter;

// Where the device's reports go: an interrupt IN endpoint on hardware, a socket in the
// simulator. False when the host is gone.
class HidReportSink {
 public:
  virtual bool send_report(Bytes report) = 0;

 protected:
  ~HidReportSink() = default;
};

class HidDevice {
 public:
  enum class Event : std::uint8_t {
    none,   // nothing for the caller: a partial message, or an answered INIT or error
    reset,  // INIT started a new session: reset the card state, as on power-up
    apdu,   // a complete command APDU is in apdu(); answer it with respond()
  };

  // One report from the host (hid::kReportSize bytes).
  Event feed(Bytes report, HidReportSink& sink);
  // Valid after Event::apdu, until the next feed().
  Bytes apdu() const { return assembler_.message(); }
  // Sends the response APDU on the channel of the last command.
  bool respond(Bytes response, HidReportSink& sink);
  // Tells the host the command is still running (slow operations such as RSA key generation).
  bool keepalive(HidReportSink& sink);
  // Forgets the session (USB reset, or the host went away).
  void disconnect();

 private:
  bool send(std::uint32_t channel, hid::Command command, Bytes message, HidReportSink& sink);
  Event answer_init(HidReportSink& sink);

  HidAssembler assembler_;
  HidSegmenter segmenter_;
  std::uint32_t channel_ = hid::kReservedChannel;  // the session INIT allocated last
  std::uint32_t next_channel_ = 1;
};

}  // namespace certkey::agent::transport
