#include "usim_applet.hpp"

#include <certkey/protocol/aid.hpp>
#include <certkey/protocol/ins.hpp>

namespace certkey::agent::usim {
namespace {
constexpr std::uint16_t kFcpTemplate = 0x62;
constexpr std::uint16_t kFileDescriptor = 0x82;
constexpr std::uint16_t kDfName = 0x84;
constexpr std::uint8_t kAdfDescriptor[] = {0x78, 0x21};  // shareable DF, coding byte 21
}  // namespace

Bytes UsimApplet::aid() const {
  return Bytes(protocol::kUsimAid.data(), protocol::kUsimAid.size());
}

// FCP of the USIM ADF: file descriptor and DF name (the AID).
void UsimApplet::write_fcp(ResponseWriter& out) const {
  out.put_header(kFcpTemplate, 2 + sizeof kAdfDescriptor + 2 + protocol::kUsimAid.size());
  out.put(kFileDescriptor, Bytes(kAdfDescriptor, sizeof kAdfDescriptor));
  out.put(kDfName, aid());
}

Sw UsimApplet::select(ResponseWriter& out) {
  write_fcp(out);
  return Sw::ok;
}

// STATUS: P1 00; P2 00 = FCP of the current application, 01 = its DF name, 0C = no data.
Sw UsimApplet::process(const CommandApdu& c, ResponseWriter& out) {
  if (c.cla_class() != protocol::kClaCertkey || c.ins != protocol::kInsStatus)
    return Sw::ins_not_supported;
  if (c.p1 != 0x00) return Sw::incorrect_p1p2;
  switch (c.p2) {
    case 0x00: write_fcp(out); return Sw::ok;
    case 0x01: out.put(kDfName, aid()); return Sw::ok;
    case 0x0C: return Sw::ok;
    default: return Sw::incorrect_p1p2;
  }
}

}  // namespace certkey::agent::usim
