// DER encoding written back to front, so that every length is known when its header is
// written and the encoding is minimal without a second pass. Used to build attestation
// certificates in a fixed buffer.
#pragma once
#include "bytes.hpp"

namespace certkey::agent {

class DerWriter {
 public:
  explicit DerWriter(MutableBytes buffer) : buf_(buffer), start_(buffer.size()) {}

  // Bytes written so far; pass it to wrap() after prepending a structure's contents.
  std::size_t mark() const { return buf_.size() - start_; }
  void wrap(std::uint8_t tag, std::size_t mark_before_contents);

  void raw(Bytes bytes);
  void tlv(std::uint8_t tag, Bytes value);
  // A non-negative INTEGER from big-endian magnitude bytes (leading zeros are dropped).
  void unsigned_integer(Bytes magnitude);
  void small_integer(std::uint32_t value);
  void bit_string(Bytes bytes);  // no unused bits

  bool overflowed() const { return overflow_; }
  Bytes result() const { return Bytes(buf_.data() + start_, buf_.size() - start_); }

 private:
  void header(std::uint8_t tag, std::size_t length);
  void byte(std::uint8_t b);

  MutableBytes buf_;
  std::size_t start_;
  bool overflow_ = false;
};

}  // namespace certkey::agent
