#pragma once
#include "bytes.hpp"

namespace certkey::protocol {

// CRC-32 (IEEE 802.3, reflected, as in zlib). Pass the previous value to continue a running CRC.
std::uint32_t crc32(Bytes data, std::uint32_t previous = 0);

}  // namespace certkey::protocol
