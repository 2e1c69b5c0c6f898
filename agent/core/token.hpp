// The token's command entry point: one APDU in, one response APDU out. Owns what ISO 7816-4
// puts below the applications: APDU decoding, SELECT by AID, command chaining, and
// GET RESPONSE for responses longer than the host asked for.
#pragma once
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/limits.hpp>

#include "applet.hpp"

namespace certkey::agent {

class Token {
 public:
  // `applets[0]` is selected implicitly at power-on, as PIV cards do.
  Token(Applet* const* applets, std::size_t applet_count);

  // Processes one command APDU. `response` must hold kMaxResponseApdu bytes. Returns the
  // response length (data followed by SW1 SW2).
  std::size_t process(Bytes command, MutableBytes response);
  void power_on();
  void power_off();

 private:
  Sw dispatch(const CommandApdu& command, ResponseWriter& out);
  Sw select_by_aid(const CommandApdu& command, ResponseWriter& out);
  Sw manage_channel(const CommandApdu& command, ResponseWriter& out);
  Sw get_response(const CommandApdu& command);
  Sw accept_chain_block(const CommandApdu& command);
  std::size_t emit(Sw sw, std::size_t ne, bool extended, MutableBytes response);

  Applet* const* applets_;
  std::size_t applet_count_;
  // Per logical channel: open or not, and the applet selected there. Applets are shared, so
  // security state (a verified PIN) is the token's, whichever channel set it.
  bool open_[protocol::kLogicalChannels] = {};
  Applet* selected_[protocol::kLogicalChannels] = {};

  // Command chaining: blocks accumulate here until the last one arrives.
  std::uint8_t chain_[protocol::kMaxCommandData] = {};
  std::size_t chain_length_ = 0;
  bool chain_active_ = false;
  std::uint8_t chain_ins_ = 0, chain_p1_ = 0, chain_p2_ = 0, chain_cla_ = 0;

  // Response data not yet delivered, fetched with GET RESPONSE.
  std::uint8_t response_[protocol::kMaxResponseData] = {};
  std::size_t response_length_ = 0;
  std::size_t response_offset_ = 0;
};

}  // namespace certkey::agent
