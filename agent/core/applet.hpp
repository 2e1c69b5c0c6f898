// An application on the token, selected by AID. The dispatcher (token.hpp) never names a
// particular applet; it looks them up in the registry it was built with.
#pragma once
#include <certkey/protocol/sw.hpp>
#include <certkey/protocol/tlv.hpp>

#include "apdu.hpp"

namespace certkey::agent {

using protocol::expect_single_tlv;
using protocol::find_tlv;
using protocol::Sw;
using protocol::Tlv;
using protocol::tlv_header_size;
using protocol::TlvReader;
using protocol::TlvWriter;
using ResponseWriter = TlvWriter;

class Applet {
 public:
  virtual Bytes aid() const = 0;
  // SELECT by AID: writes the FCI / application property template.
  virtual Sw select(ResponseWriter& out) = 0;
  virtual void deselect() = 0;
  // Any command other than SELECT and GET RESPONSE while this applet is selected.
  virtual Sw process(const CommandApdu& command, ResponseWriter& out) = 0;
  // Card reset or power loss: volatile state (verified PINs, challenges) is dropped.
  virtual void power_off() = 0;

 protected:
  ~Applet() = default;
};

}  // namespace certkey::agent
