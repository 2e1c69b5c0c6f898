#include "token.hpp"

#include <certkey/protocol/ins.hpp>

namespace certkey::agent {
namespace {
using protocol::Ins;
constexpr std::uint8_t ins(Ins i) { return static_cast<std::uint8_t>(i); }
}  // namespace

Token::Token(Applet* const* applets, std::size_t applet_count)
    : applets_(applets), applet_count_(applet_count) {
  power_on();
}

void Token::power_on() {
  chain_active_ = false;
  chain_length_ = 0;
  response_length_ = response_offset_ = 0;
  for (std::size_t c = 0; c < protocol::kLogicalChannels; ++c) {
    open_[c] = c == 0;
    selected_[c] = nullptr;
  }
  selected_[0] = applet_count_ > 0 ? applets_[0] : nullptr;
}

void Token::power_off() {
  for (std::size_t i = 0; i < applet_count_; ++i) applets_[i]->power_off();
  secure_zero(MutableBytes(chain_, sizeof chain_));
  secure_zero(MutableBytes(response_, sizeof response_));
  power_on();
}

std::size_t Token::process(Bytes raw, MutableBytes response) {
  CommandApdu command;
  if (response.size() < protocol::kMaxResponseApdu) return 0;
  if (!parse_command_apdu(raw, command)) {
    chain_active_ = false;
    response_length_ = response_offset_ = 0;
    return emit(Sw::wrong_length, 0, false, response);
  }
  if (command.ins == ins(Ins::get_response) && command.cla_class() == protocol::kClaIso) {
    return emit(get_response(command), command.ne, command.extended, response);
  }
  response_length_ = response_offset_ = 0;
  ResponseWriter out(MutableBytes(response_, sizeof response_));

  if (command.chained()) return emit(accept_chain_block(command), 0, false, response);
  if (chain_active_) {
    // The last block of a chain: the whole command is the blocks plus this one.
    chain_active_ = false;
    if (command.ins != chain_ins_ || command.p1 != chain_p1_ || command.p2 != chain_p2_ ||
        (command.cla & ~protocol::kClaChainBit) != (chain_cla_ & ~protocol::kClaChainBit)) {
      return emit(Sw::last_command_expected, 0, false, response);
    }
    if (command.data.size() > sizeof chain_ - chain_length_) {
      return emit(Sw::wrong_length, 0, false, response);
    }
    for (std::size_t i = 0; i < command.data.size(); ++i)
      chain_[chain_length_ + i] = command.data[i];
    chain_length_ += command.data.size();
    command.data = Bytes(chain_, chain_length_);
  }
  Sw sw = dispatch(command, out);
  response_length_ = out.overflowed() ? 0 : out.size();
  if (out.overflowed() && sw == Sw::ok) sw = Sw::unknown;
  return emit(sw, command.ne, command.extended, response);
}

Sw Token::accept_chain_block(const CommandApdu& command) {
  if (!chain_active_ || command.ins != chain_ins_ || command.p1 != chain_p1_ ||
      command.p2 != chain_p2_) {
    chain_active_ = true;
    chain_length_ = 0;
    chain_ins_ = command.ins;
    chain_p1_ = command.p1;
    chain_p2_ = command.p2;
    chain_cla_ = command.cla;
  }
  if (command.data.size() > sizeof chain_ - chain_length_) {
    chain_active_ = false;
    return Sw::wrong_length;
  }
  for (std::size_t i = 0; i < command.data.size(); ++i) chain_[chain_length_ + i] = command.data[i];
  chain_length_ += command.data.size();
  return Sw::ok;
}

Sw Token::dispatch(const CommandApdu& command, ResponseWriter& out) {
  const std::uint8_t cla = command.cla_class();
  if (cla != protocol::kClaIso && cla != protocol::kClaCertkey) return Sw::cla_not_supported;
  if (!open_[command.channel()]) return Sw::channel_not_supported;
  if (cla == protocol::kClaIso && command.ins == ins(Ins::manage_channel))
    return manage_channel(command, out);
  if (cla == protocol::kClaIso && command.ins == ins(Ins::select)) {
    return select_by_aid(command, out);
  }
  Applet* selected = selected_[command.channel()];
  if (!selected) return Sw::conditions_not_satisfied;
  return selected->process(command, out);
}

// A new channel starts with nothing selected; closing one ends its applet's session state
// when no other channel still has that applet selected.
Sw Token::manage_channel(const CommandApdu& command, ResponseWriter& out) {
  if (command.p1 == protocol::kManageChannelOpen) {
    std::uint8_t channel = command.p2;
    if (channel == 0) {
      for (channel = 1; channel < protocol::kLogicalChannels && open_[channel]; ++channel) {
      }
    }
    if (channel >= protocol::kLogicalChannels || open_[channel]) return Sw::channel_not_supported;
    open_[channel] = true;
    selected_[channel] = nullptr;
    if (command.p2 == 0) out.put_raw(Bytes(&channel, 1));
    return Sw::ok;
  }
  if (command.p1 == protocol::kManageChannelClose) {
    const std::uint8_t channel = command.p2;
    if (channel == 0 || channel >= protocol::kLogicalChannels || !open_[channel])
      return Sw::incorrect_p1p2;
    Applet* applet = selected_[channel];
    open_[channel] = false;
    selected_[channel] = nullptr;
    bool still_selected = false;
    for (std::size_t c = 0; c < protocol::kLogicalChannels; ++c)
      still_selected |= selected_[c] == applet;
    if (applet && !still_selected) applet->deselect();
    return Sw::ok;
  }
  return Sw::incorrect_p1p2;
}

Sw Token::select_by_aid(const CommandApdu& command, ResponseWriter& out) {
  if (command.p1 != 0x04) return Sw::not_found;  // only selection by DF name is supported
  if (command.data.empty()) return Sw::wrong_length;
  for (std::size_t i = 0; i < applet_count_; ++i) {
    Bytes aid = applets_[i]->aid();
    // Partial DF name: the host may send a prefix of the AID (at least the RID).
    if (command.data.size() > aid.size() || command.data.size() < 5) continue;
    bool match = true;
    for (std::size_t k = 0; k < command.data.size(); ++k)
      match = match && aid[k] == command.data[k];
    if (!match) continue;
    Applet*& selected = selected_[command.channel()];
    if (selected && selected != applets_[i]) {
      bool elsewhere = false;
      for (std::size_t c = 0; c < protocol::kLogicalChannels; ++c) {
        elsewhere |= c != command.channel() && selected_[c] == selected;
      }
      if (!elsewhere) selected->deselect();
    }
    selected = applets_[i];
    return selected->select(out);
  }
  return Sw::not_found;  // the current selection stays, per ISO 7816-4
}

Sw Token::get_response(const CommandApdu& command) {
  if (command.p1 != 0 || command.p2 != 0) return Sw::incorrect_p1p2;
  if (response_offset_ >= response_length_) return Sw::conditions_not_satisfied;
  return Sw::ok;  // emit() delivers the next part
}

std::size_t Token::emit(Sw sw, std::size_t ne, bool extended, MutableBytes response) {
  // An absent Le still gets data (hosts such as ykpiv omit it); short APDUs carry 256 at most.
  std::size_t limit = ne == 0
                          ? protocol::kShortMaxLe
                          : (extended || ne < protocol::kShortMaxLe ? ne : protocol::kShortMaxLe);
  std::size_t pending = sw == Sw::ok ? response_length_ - response_offset_ : 0;
  std::size_t n = pending < limit ? pending : limit;
  for (std::size_t i = 0; i < n; ++i) response[i] = response_[response_offset_ + i];
  response_offset_ += n;
  std::size_t left = pending - n;
  if (sw == Sw::ok && left > 0) sw = protocol::sw_bytes_remaining(static_cast<unsigned>(left));
  if (sw != Sw::ok && left == 0) response_length_ = response_offset_ = 0;
  std::uint16_t v = protocol::to_u16(sw);
  response[n] = static_cast<std::uint8_t>(v >> 8);
  response[n + 1] = static_cast<std::uint8_t>(v);
  return n + 2;
}

}  // namespace certkey::agent
