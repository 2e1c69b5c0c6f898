// APDUs over USB HID reports: the USB KEY transport (docs/hid.md). 64-byte reports, in both
// directions, each on a channel the host allocated:
//   initial frame:      channel (4, BE) | 0x80 | command | length (2, BE) | data (57)
//   continuation frame: channel (4, BE) | sequence 0x00-0x7F              | data (59)
// A message (an APDU, or a response APDU) is one initial frame and as many continuations as
// its length needs, in sequence order.
#pragma once
#include <cstddef>
#include <cstdint>

#include "limits.hpp"

namespace certkey::protocol::hid {

inline constexpr std::size_t kReportSize = 64;
inline constexpr std::size_t kInitialHeader = 7;
inline constexpr std::size_t kContinuationHeader = 5;
inline constexpr std::size_t kInitialData = kReportSize - kInitialHeader;
inline constexpr std::size_t kContinuationData = kReportSize - kContinuationHeader;
inline constexpr std::uint8_t kInitialBit = 0x80;
inline constexpr std::uint8_t kMaxSequence = 0x7F;

// The largest message: a command APDU of the largest object (limits.hpp).
inline constexpr std::size_t kMaxMessage = kMaxCommandApdu;
static_assert(kMaxMessage <= kInitialData + (kMaxSequence + 1) * kContinuationData,
              "the largest APDU fits one message");
static_assert(kMaxMessage <= 0xFFFF, "lengths are 16 bits");

// Every channel but these two is allocated by INIT.
inline constexpr std::uint32_t kBroadcastChannel = 0xFFFFFFFF;
inline constexpr std::uint32_t kReservedChannel = 0;

enum class Command : std::uint8_t {
  msg = 0x83,        // an APDU (host to token) or a response APDU (token to host)
  init = 0x86,       // on the broadcast channel: 8-byte nonce -> nonce || new channel (4)
  keepalive = 0xBB,  // token to host, 1 byte status: still working (RSA key generation)
  error = 0xBF,      // token to host, 1 byte Error
};

enum class KeepaliveStatus : std::uint8_t { processing = 0x01 };

enum class Error : std::uint8_t {
  invalid_command = 0x01,
  invalid_length = 0x03,
  invalid_sequence = 0x04,
  busy = 0x06,  // another channel's message is being received
  invalid_channel = 0x0B,
  other = 0x7F,
};

inline constexpr std::size_t kInitNonceLength = 8;

}  // namespace certkey::protocol::hid
