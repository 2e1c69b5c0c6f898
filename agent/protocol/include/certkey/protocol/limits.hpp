// Size bounds shared by the token and its hosts. Every buffer in agent/ is sized from these.
#pragma once
#include <cstddef>
#include <cstdint>

namespace certkey::protocol {

// Largest X.509 certificate a slot holds (DER), and the container around it (70/71/FE tags).
inline constexpr std::size_t kMaxCertificate = 4096;
// The most random bytes one GET CHALLENGE returns (a short Le of 00).
inline constexpr std::size_t kMaxChallenge = 256;
inline constexpr std::size_t kMaxDataObject = kMaxCertificate + 16;
// Largest command data after chaining: PUT DATA of the largest object with its 5C/53 header.
inline constexpr std::size_t kMaxCommandData = kMaxDataObject + 16;
// Largest response data: GET DATA of the largest object with its 53 header.
inline constexpr std::size_t kMaxResponseData = kMaxDataObject + 8;
// Short APDUs carry at most 255 command bytes and 256 response bytes per exchange.
inline constexpr std::size_t kShortMaxLc = 255;
inline constexpr std::size_t kShortMaxLe = 256;
// Header (4) + extended Lc (3) + data + extended Le (2).
inline constexpr std::size_t kMaxCommandApdu = 4 + 3 + kMaxCommandData + 2;
inline constexpr std::size_t kMaxResponseApdu = kMaxResponseData + 2;

// PIN and PUK: 6-8 characters on the wire, right-padded with 0xFF to 8 bytes.
inline constexpr std::size_t kPinBlockLength = 8;
inline constexpr std::size_t kMinPinLength = 6;
inline constexpr std::uint8_t kPinPadByte = 0xFF;

// Remote unlock (docs/unlock.md).
inline constexpr std::size_t kUnlockChallengeLength = 10;
inline constexpr std::size_t kUnlockResponseLength = 10;
inline constexpr std::size_t kUnlockKeyLength = 32;  // AES-256

// Token serial numbers are 32-bit, as in Yubico's GET SERIAL.
inline constexpr std::size_t kSerialLength = 4;

static_assert(kMaxCommandApdu < 65536 + 7, "fits one extended APDU");

}  // namespace certkey::protocol
