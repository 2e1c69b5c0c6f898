// Byte views and the byte-level helpers both ends of the token protocol need.
// Freestanding: no allocation, no exceptions.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace certkey::protocol {

using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

constexpr std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
constexpr std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
constexpr void store_be16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
constexpr void store_be32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

// Wipes secrets; the volatile stores keep the compiler from dropping a dead write.
void secure_zero(MutableBytes bytes);

// Compares in time that depends only on the length, never on where the bytes differ.
bool constant_time_equal(Bytes a, Bytes b);

}  // namespace certkey::protocol
