#include <certkey/protocol/tlv.hpp>

namespace certkey::protocol {

bool TlvReader::next(Tlv& out) {
  if (failed_ || rest_.empty()) return false;
  const std::uint8_t* p = rest_.data();
  std::size_t n = rest_.size();
  std::size_t pos = 0;
  std::uint16_t tag = p[pos++];
  if ((tag & 0x1F) == 0x1F) {  // two-byte tag
    if (pos >= n || (p[pos] & 0x80) != 0) return failed_ = true, false;
    tag = static_cast<std::uint16_t>((tag << 8) | p[pos++]);
  }
  if (pos >= n) return failed_ = true, false;
  std::size_t length = p[pos++];
  if (length == 0x81) {
    if (pos + 1 > n) return failed_ = true, false;
    length = p[pos++];
  } else if (length == 0x82) {
    if (pos + 2 > n) return failed_ = true, false;
    length = load_be16(p + pos);
    pos += 2;
  } else if (length >= 0x80) {
    return failed_ = true, false;  // longer forms, and the indefinite form, are not used
  }
  if (length > n - pos) return failed_ = true, false;
  out.tag = tag;
  out.value = rest_.subspan(pos, length);
  out.whole = rest_.subspan(0, pos + length);
  rest_ = rest_.subspan(pos + length);
  return true;
}

bool find_tlv(Bytes data, std::uint16_t tag, Tlv& out) {
  TlvReader reader(data);
  while (reader.next(out)) {
    if (out.tag == tag) return true;
  }
  return false;
}

bool expect_single_tlv(Bytes data, std::uint16_t tag, Bytes& value) {
  TlvReader reader(data);
  Tlv tlv;
  if (!reader.next(tlv) || tlv.tag != tag || !reader.at_end()) return false;
  value = tlv.value;
  return true;
}

std::size_t tlv_header_size(std::uint16_t tag, std::size_t length) {
  std::size_t tag_size = tag > 0xFF ? 2 : 1;
  std::size_t len_size = length < 0x80 ? 1 : (length <= 0xFF ? 2 : 3);
  return tag_size + len_size;
}

void TlvWriter::put_raw(Bytes bytes) {
  if (overflow_ || bytes.size() > buf_.size() - used_) {
    overflow_ = true;
    return;
  }
  for (std::size_t i = 0; i < bytes.size(); ++i) buf_[used_ + i] = bytes[i];
  used_ += bytes.size();
}

void TlvWriter::put_header(std::uint16_t tag, std::size_t length) {
  std::uint8_t h[5];
  std::size_t n = 0;
  if (tag > 0xFF) h[n++] = static_cast<std::uint8_t>(tag >> 8);
  h[n++] = static_cast<std::uint8_t>(tag);
  if (length < 0x80) {
    h[n++] = static_cast<std::uint8_t>(length);
  } else if (length <= 0xFF) {
    h[n++] = 0x81;
    h[n++] = static_cast<std::uint8_t>(length);
  } else if (length <= 0xFFFF) {
    h[n++] = 0x82;
    store_be16(h + n, static_cast<std::uint16_t>(length));
    n += 2;
  } else {
    overflow_ = true;
    return;
  }
  put_raw(Bytes(h, n));
}

void TlvWriter::put(std::uint16_t tag, Bytes value) {
  put_header(tag, value.size());
  put_raw(value);
}

void TlvWriter::put_u8(std::uint16_t tag, std::uint8_t value) { put(tag, Bytes(&value, 1)); }

}  // namespace certkey::protocol
