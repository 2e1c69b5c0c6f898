// The SD KEY command-file format of protocol/sd_frame.hpp, shared by the token's file
// channel and the host's SD KEY driver. Freestanding: callers supply the buffers.
#pragma once
#include <certkey/protocol/sd_frame.hpp>

#include <certkey/protocol/bytes.hpp>

namespace certkey::protocol {

// Writes a command (header and APDU, zero-padded to whole blocks) into `out`; returns the
// number of bytes to write, or 0 when the APDU is too long or `out` too small.
std::size_t encode_sd_command(std::uint32_t sequence, Bytes apdu, MutableBytes out);

// Checks a command read from the command file; on success `apdu` points into `in`.
bool parse_sd_command(Bytes in, std::uint32_t& sequence, Bytes& apdu);

struct SdFragment {
  std::uint32_t sequence = 0;
  sd::Status status = sd::Status::ready;
  std::uint8_t index = 0;
  std::uint8_t count = 0;
  std::uint16_t total_length = 0;
  Bytes data;  // this fragment's part of the response
};

// Fragment `index` of `response` (or a busy marker when `busy`), kFragmentSize bytes into
// `out`. False when the index is out of range or the response too long.
bool encode_sd_fragment(std::uint32_t sequence, bool busy, Bytes response, std::uint8_t index,
                        MutableBytes out);

// Checks a fragment read from the response area: magic, CRC, lengths and index against
// count. A torn or stale read fails here (or shows another sequence number).
bool parse_sd_fragment(Bytes in, SdFragment& out);

}  // namespace certkey::protocol
