// BER-TLV reading and writing on caller-owned buffers (ISO 7816-4 section 5.2, DER subset).
// Tags are up to two bytes; lengths up to 0xFFFF (long form 81/82).
#pragma once
#include "bytes.hpp"

namespace certkey::protocol {

struct Tlv {
  std::uint16_t tag = 0;
  Bytes value;
  Bytes whole;  // tag, length and value
};

// Iterates the TLVs of one level. A malformed encoding stops iteration and sets failed().
class TlvReader {
 public:
  explicit TlvReader(Bytes data) : rest_(data) {}
  bool next(Tlv& out);
  bool failed() const { return failed_; }
  bool at_end() const { return rest_.empty(); }

 private:
  Bytes rest_;
  bool failed_ = false;
};

// Finds the first TLV with `tag` on this level. Returns false if absent or malformed.
bool find_tlv(Bytes data, std::uint16_t tag, Tlv& out);

// Parses data that must be exactly one TLV with `tag`, and yields its value.
bool expect_single_tlv(Bytes data, std::uint16_t tag, Bytes& value);

std::size_t tlv_header_size(std::uint16_t tag, std::size_t length);

// Appends to a fixed buffer; an overflow sets overflowed() and writes nothing further.
class TlvWriter {
 public:
  explicit TlvWriter(MutableBytes buffer) : buf_(buffer) {}
  void put_header(std::uint16_t tag, std::size_t length);
  void put(std::uint16_t tag, Bytes value);
  void put_u8(std::uint16_t tag, std::uint8_t value);
  void put_raw(Bytes bytes);
  std::size_t size() const { return used_; }
  bool overflowed() const { return overflow_; }
  Bytes written() const { return Bytes(buf_.data(), used_); }

 private:
  MutableBytes buf_;
  std::size_t used_ = 0;
  bool overflow_ = false;
};

}  // namespace certkey::protocol
