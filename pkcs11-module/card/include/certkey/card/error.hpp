// The card library's error currency: what failed, and the status word when the token said no.
#pragma once
#include <certkey/protocol/sw.hpp>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace certkey::card {

class Error : public std::runtime_error {
 public:
  enum class Kind {
    transport,      // PC/SC or reader failure (pcscd gone, reader gone): reconnect may help
    card_reset,     // another process reset the card: reconnect, re-select, re-verify
    token_removed,  // the token left the reader
    no_token,       // no reader/token matched
    refused,        // the token answered with an error status word
    bad_response,   // the token answered something malformed
    bad_input,      // the caller's input was invalid
  };
  Error(Kind kind, const std::string& what, std::uint16_t sw = 0)
      : std::runtime_error(what), kind_(kind), sw_(sw) {}
  Kind kind() const { return kind_; }
  std::uint16_t sw() const { return sw_; }
  bool is(protocol::Sw status) const {
    return kind_ == Kind::refused && sw_ == protocol::to_u16(status);
  }

 private:
  Kind kind_;
  std::uint16_t sw_;
};

}  // namespace certkey::card
