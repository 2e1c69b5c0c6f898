// Byte views for the firmware: the protocol library's, plus a self-wiping secret buffer.
#pragma once
#include <certkey/protocol/bytes.hpp>

namespace certkey::agent {

using protocol::Bytes;
using protocol::constant_time_equal;
using protocol::load_be16;
using protocol::load_be32;
using protocol::MutableBytes;
using protocol::secure_zero;
using protocol::store_be16;
using protocol::store_be32;

// A fixed-capacity buffer that wipes itself when it goes away: for PINs, keys and challenges.
template <std::size_t N>
struct SecretBuffer {
  std::uint8_t data[N] = {};
  std::size_t size = 0;
  SecretBuffer() = default;
  SecretBuffer(const SecretBuffer&) = delete;
  SecretBuffer& operator=(const SecretBuffer&) = delete;
  ~SecretBuffer() { secure_zero(MutableBytes(data, N)); }
  Bytes view() const { return Bytes(data, size); }
  void clear() {
    secure_zero(MutableBytes(data, N));
    size = 0;
  }
};

}  // namespace certkey::agent
