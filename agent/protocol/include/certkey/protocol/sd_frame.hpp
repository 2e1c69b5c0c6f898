// APDUs through a file on an SD KEY (docs/sdkey.md). The host writes a command to the
// command file at offset 0 and reads the response from the response area, all in 512-byte
// blocks with unbuffered I/O (O_DIRECT), so every write reaches the card and every read
// comes from it.
//   command  block 0:  magic "CKSDCMD1" | sequence (4) | length (2) | reserved (2) | CRC-32 (4)
//                      | APDU..., continuing into the next blocks
//   response fragment: magic "CKSDRSP1" | sequence (4) | status (1) | index (1) | count (1)
//                      | reserved (1) | total length (2) | fragment length (2) | CRC-32 (4)
//                      | data...  — fragment i is at kResponseOffset + i * kFragmentSize
#pragma once
#include <cstddef>
#include <cstdint>

#include "limits.hpp"

namespace certkey::protocol::sd {

inline constexpr char kCommandFileName[] = "CERTKEY.CMD";  // in the card's root directory
inline constexpr std::size_t kBlockSize = 512;
inline constexpr std::uint8_t kCommandMagic[8] = {'C', 'K', 'S', 'D', 'C', 'M', 'D', '1'};
inline constexpr std::uint8_t kResponseMagic[8] = {'C', 'K', 'S', 'D', 'R', 'S', 'P', '1'};

inline constexpr std::size_t kCommandHeader = 20;
inline constexpr std::size_t kMaxCommand = kMaxCommandApdu;
inline constexpr std::size_t kCommandArea =
    (kCommandHeader + kMaxCommand + kBlockSize - 1) / kBlockSize * kBlockSize;

inline constexpr std::size_t kResponseHeader = 24;
inline constexpr std::size_t kFragmentSize = 2048;  // one read: 4 blocks
inline constexpr std::size_t kFragmentData = kFragmentSize - kResponseHeader;
inline constexpr std::size_t kMaxResponse = kMaxResponseApdu;
inline constexpr std::size_t kMaxFragments = (kMaxResponse + kFragmentData - 1) / kFragmentData;
inline constexpr std::size_t kResponseOffset = kCommandArea;
inline constexpr std::size_t kFileSize = kResponseOffset + kMaxFragments * kFragmentSize;

static_assert(kFragmentSize % kBlockSize == 0 && kCommandArea % kBlockSize == 0, "block aligned");
static_assert(kMaxFragments <= 255, "fragment numbers are one byte");

// Status of a response fragment: the card is still working on the command (busy), or the
// response is there.
enum class Status : std::uint8_t { ready = 0x00, busy = 0x01 };

}  // namespace certkey::protocol::sd
