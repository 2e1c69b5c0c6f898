// The token's side of the SD KEY command file (docs/sdkey.md): what the card's controller
// does when the host writes blocks to CERTKEY.CMD and reads them back. Freestanding: the
// command and the response live in fixed buffers.
#pragma once
#include <certkey/protocol/sd_framing.hpp>

#include "../core/bytes.hpp"

namespace certkey::agent::transport {

namespace sd = protocol::sd;
using protocol::encode_sd_fragment;
using protocol::parse_sd_command;

class SdFileChannel {
 public:
  enum class Event : std::uint8_t {
    none,   // a write that is not a whole valid command (or the host's zero padding)
    reset,  // an empty command: reset the card state, as on power-up; then call complete()
    apdu,   // a command APDU is in apdu(); run it and call complete() with the response
  };

  // The host wrote `data` at `offset` of the command file. A command is taken only when it
  // arrives whole at offset 0 with a valid header and CRC.
  Event write(std::size_t offset, Bytes data);
  Bytes apdu() const { return Bytes(command_ + sd::kCommandHeader, apdu_length_); }
  // The response to the pending command (data and SW1 SW2); wipes the command.
  void complete(Bytes response);
  // The host reads `out.size()` bytes at `offset`: response fragments, or a busy marker in
  // fragment 0 while a command is pending; zeros elsewhere.
  void read(std::size_t offset, MutableBytes out) const;
  bool pending() const { return pending_; }
  std::uint32_t sequence() const { return sequence_; }
  // Card removed: forgets the pending command and the response.
  void clear();

 private:
  std::uint8_t command_[sd::kCommandArea] = {};
  std::size_t apdu_length_ = 0;
  std::uint8_t response_[sd::kMaxResponse] = {};
  std::size_t response_length_ = 0;
  std::uint32_t sequence_ = 0;
  bool pending_ = false;
  bool answered_ = false;  // a response exists for sequence_
};

}  // namespace certkey::agent::transport
