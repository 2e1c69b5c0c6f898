#include <certkey/protocol/crc32.hpp>

namespace certkey::protocol {

std::uint32_t crc32(Bytes data, std::uint32_t previous) {
  // Nibble table: 64 bytes of constants instead of 1 KiB, fast enough for a record store.
  static constexpr std::uint32_t kTable[16] = {0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC,
                                               0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
                                               0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
                                               0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C};
  std::uint32_t crc = ~previous;
  for (std::uint8_t byte : data) {
    crc = kTable[(crc ^ byte) & 0x0F] ^ (crc >> 4);
    crc = kTable[(crc ^ (byte >> 4)) & 0x0F] ^ (crc >> 4);
  }
  return ~crc;
}

}  // namespace certkey::protocol
