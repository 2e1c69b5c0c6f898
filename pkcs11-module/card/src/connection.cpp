#include <certkey/card/connection.hpp>
#include <certkey/card/error.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/limits.hpp>

namespace certkey::card {

Bytes Connection::exchange(const Bytes& apdu) {
  Bytes response = link_->exchange(apdu);
  if (response.size() < 2) throw Error(Error::Kind::bad_response, "token sent no status word");
  return response;
}

Response Connection::transmit(const Command& original) {
  Command command;
  command.cla = static_cast<std::uint8_t>(original.cla | channel_);
  command.ins = original.ins;
  command.p1 = original.p1;
  command.p2 = original.p2;
  command.data = original.data;
  // T=1 carries extended-length APDUs, so any command is one exchange; T=0 (SIMs on CCID
  // readers) needs short APDUs with chaining and GET RESPONSE.
  const bool extended = link_->extended_apdus();
  std::vector<Bytes> blocks =
      extended ? std::vector<Bytes>{encode_extended(command)} : encode_short(command);
  Response r;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    r = decode_response(exchange(blocks[i]));
    wipe(blocks[i]);
    if (i + 1 < blocks.size() && !r.ok()) return r;  // the token refused a chain block
  }
  if (protocol::is_wrong_le(r.sw) && !extended) {  // wrong Le: repeat with it
    Bytes again = encode_short(command).back();
    again.back() = static_cast<std::uint8_t>(r.sw & 0xFF);
    r = decode_response(exchange(again));
    wipe(again);
  }
  Bytes data = std::move(r.data);
  while (protocol::has_more_bytes(r.sw)) {
    r = decode_response(exchange({channel_, static_cast<std::uint8_t>(protocol::Ins::get_response),
                                  0x00, 0x00, static_cast<std::uint8_t>(r.sw & 0xFF)}));
    data.insert(data.end(), r.data.begin(), r.data.end());
    if (data.size() > protocol::kMaxResponseData) {
      throw Error(Error::Kind::bad_response, "response longer than any token object");
    }
  }
  r.data = std::move(data);
  return r;
}

}  // namespace certkey::card
