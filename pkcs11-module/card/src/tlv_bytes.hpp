// The protocol library's TLV codec over the card library's byte vectors.
#pragma once
#include <certkey/card/apdu.hpp>
#include <certkey/protocol/tlv.hpp>

#include <optional>

namespace certkey::card {

inline protocol::Bytes view(const Bytes& b) { return protocol::Bytes(b.data(), b.size()); }

// The value of `tag` on the top level of `data`, or nothing.
inline std::optional<Bytes> tlv_value(const Bytes& data, std::uint16_t tag) {
  protocol::Tlv found;
  if (!protocol::find_tlv(view(data), tag, found)) return std::nullopt;
  return Bytes(found.value.begin(), found.value.end());
}

inline void append_tlv(Bytes& out, std::uint16_t tag, const Bytes& value) {
  std::uint8_t header[5];
  protocol::TlvWriter w(protocol::MutableBytes(header, sizeof header));
  w.put_header(tag, value.size());
  out.insert(out.end(), header, header + w.size());
  out.insert(out.end(), value.begin(), value.end());
}

}  // namespace certkey::card
