#include "der_writer.hpp"

namespace certkey::agent {

void DerWriter::byte(std::uint8_t b) {
  if (overflow_ || start_ == 0) {
    overflow_ = true;
    return;
  }
  buf_[--start_] = b;
}

void DerWriter::raw(Bytes bytes) {
  for (std::size_t i = bytes.size(); i > 0; --i) byte(bytes[i - 1]);
}

void DerWriter::header(std::uint8_t tag, std::size_t length) {
  if (length < 0x80) {
    byte(static_cast<std::uint8_t>(length));
  } else if (length <= 0xFF) {
    byte(static_cast<std::uint8_t>(length));
    byte(0x81);
  } else {
    byte(static_cast<std::uint8_t>(length));
    byte(static_cast<std::uint8_t>(length >> 8));
    byte(0x82);
  }
  byte(tag);
}

void DerWriter::wrap(std::uint8_t tag, std::size_t mark_before_contents) {
  header(tag, mark() - mark_before_contents);
}

void DerWriter::tlv(std::uint8_t tag, Bytes value) {
  raw(value);
  header(tag, value.size());
}

void DerWriter::unsigned_integer(Bytes magnitude) {
  while (magnitude.size() > 1 && magnitude[0] == 0) magnitude = magnitude.subspan(1);
  std::size_t m = mark();
  raw(magnitude);
  if (magnitude.empty() || (magnitude[0] & 0x80)) byte(0x00);
  wrap(0x02, m);
}

void DerWriter::small_integer(std::uint32_t value) {
  std::uint8_t be[4];
  store_be32(be, value);
  unsigned_integer(Bytes(be, 4));
}

void DerWriter::bit_string(Bytes bytes) {
  std::size_t m = mark();
  raw(bytes);
  byte(0x00);
  wrap(0x03, m);
}

}  // namespace certkey::agent
