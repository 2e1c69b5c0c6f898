// BER-TLV tags used in command and response data.
#pragma once
#include <cstdint>

namespace certkey::protocol::tag {

// SELECT response: Application Property Template (SP 800-73-4 3.1.1).
inline constexpr std::uint16_t kApplicationProperty = 0x61;
inline constexpr std::uint16_t kApplicationId = 0x4F;
inline constexpr std::uint16_t kCoexistentTagAllocation = 0x79;
inline constexpr std::uint16_t kApplicationLabel = 0x50;

// GET DATA / PUT DATA.
inline constexpr std::uint16_t kTagList = 0x5C;
inline constexpr std::uint16_t kData = 0x53;
inline constexpr std::uint16_t kDiscoveryObject = 0x7E;  // also its own one-byte object id

// Certificate container (SP 800-73-4 Appendix A).
inline constexpr std::uint16_t kCertificate = 0x70;
inline constexpr std::uint16_t kCertInfo = 0x71;
inline constexpr std::uint16_t kErrorDetectionCode = 0xFE;

// GENERAL AUTHENTICATE dynamic authentication template (SP 800-73-4 3.2.4).
inline constexpr std::uint16_t kDynamicAuth = 0x7C;
inline constexpr std::uint16_t kWitness = 0x80;
inline constexpr std::uint16_t kChallenge = 0x81;
inline constexpr std::uint16_t kResponse = 0x82;
inline constexpr std::uint16_t kExponentiation = 0x85;

// GENERATE ASYMMETRIC KEY PAIR control template and response (SP 800-73-4 3.3.2).
inline constexpr std::uint16_t kControlReference = 0xAC;
inline constexpr std::uint16_t kAlgorithm = 0x80;
inline constexpr std::uint16_t kPinPolicy = 0xAA;
inline constexpr std::uint16_t kTouchPolicy = 0xAB;
inline constexpr std::uint16_t kPublicKeyTemplate = 0x7F49;
inline constexpr std::uint16_t kRsaModulus = 0x81;
inline constexpr std::uint16_t kRsaExponent = 0x82;
inline constexpr std::uint16_t kEcPoint = 0x86;

// IMPORT KEY (Yubico-compatible): RSA CRT parts and EC private scalar.
inline constexpr std::uint16_t kImportRsaP = 0x01;
inline constexpr std::uint16_t kImportRsaQ = 0x02;
inline constexpr std::uint16_t kImportRsaDp = 0x03;
inline constexpr std::uint16_t kImportRsaDq = 0x04;
inline constexpr std::uint16_t kImportRsaQinv = 0x05;
inline constexpr std::uint16_t kImportEcPrivate = 0x06;

// GET METADATA response (Yubico-compatible).
inline constexpr std::uint16_t kMetaAlgorithm = 0x01;
inline constexpr std::uint16_t kMetaPolicy = 0x02;
inline constexpr std::uint16_t kMetaOrigin = 0x03;
inline constexpr std::uint16_t kMetaPublicKey = 0x04;
inline constexpr std::uint16_t kMetaIsDefault = 0x05;
inline constexpr std::uint16_t kMetaRetries = 0x06;

// certkey TOKEN INFO response.
inline constexpr std::uint16_t kInfoSerial = 0x01;
inline constexpr std::uint16_t kInfoMedium = 0x02;
inline constexpr std::uint16_t kInfoFirmware = 0x03;
inline constexpr std::uint16_t kInfoChangeCounter = 0x04;
inline constexpr std::uint16_t kInfoPolicy = 0x05;
inline constexpr std::uint16_t kInfoUnlockRetries = 0x06;
// Retry limit, tries left and "still the default" of the PIN and the PUK: PIN attempts do
// not advance the change counter, so hosts read the PIN state here in the same APDU.
inline constexpr std::uint16_t kInfoPinState = 0x07;
inline constexpr std::uint16_t kInfoPukState = 0x08;

}  // namespace certkey::protocol::tag
