// PIV data object identifiers (SP 800-73-4 Table 3) and the Yubico-compatible extras.
#pragma once
#include <cstdint>

namespace certkey::protocol {

// Object ids as the big-endian value of their 1-3 byte tag (e.g. 0x5FC102 for the CHUID).
namespace object {
inline constexpr std::uint32_t kDiscovery = 0x7E;
inline constexpr std::uint32_t kBiometricGroupTemplate = 0x7F61;
inline constexpr std::uint32_t kCardAuthCert = 0x5FC101;
inline constexpr std::uint32_t kChuid = 0x5FC102;
inline constexpr std::uint32_t kFingerprints = 0x5FC103;
inline constexpr std::uint32_t kAuthenticationCert = 0x5FC105;
inline constexpr std::uint32_t kSecurityObject = 0x5FC106;
inline constexpr std::uint32_t kCapabilityContainer = 0x5FC107;
inline constexpr std::uint32_t kFacialImage = 0x5FC108;
inline constexpr std::uint32_t kPrintedInformation = 0x5FC109;
inline constexpr std::uint32_t kSignatureCert = 0x5FC10A;
inline constexpr std::uint32_t kKeyManagementCert = 0x5FC10B;
inline constexpr std::uint32_t kKeyHistory = 0x5FC10C;
inline constexpr std::uint32_t kRetiredCertFirst = 0x5FC10D;  // slot 82
inline constexpr std::uint32_t kRetiredCertLast = 0x5FC120;   // slot 95
inline constexpr std::uint32_t kIrisImages = 0x5FC121;
inline constexpr std::uint32_t kPivObjectLast = 0x5FC123;
inline constexpr std::uint32_t kYubicoAdminData = 0x5FFF00;
inline constexpr std::uint32_t kAttestationCert = 0x5FFF01;  // certificate of slot F9
inline constexpr std::uint32_t kYubicoObjectLast = 0x5FFF15;
}  // namespace object

// The certificate object that belongs to a key slot, or 0 for none.
constexpr std::uint32_t certificate_object_for_slot(std::uint8_t slot) {
  switch (slot) {
    case 0x9A: return object::kAuthenticationCert;
    case 0x9C: return object::kSignatureCert;
    case 0x9D: return object::kKeyManagementCert;
    case 0x9E: return object::kCardAuthCert;
    case 0xF9: return object::kAttestationCert;
    default: return (slot >= 0x82 && slot <= 0x95) ? object::kRetiredCertFirst + (slot - 0x82u) : 0;
  }
}

// Objects whose contents are personal data: reading them needs the PIN (SP 800-73-4 Table 3).
constexpr bool object_read_needs_pin(std::uint32_t id) {
  return id == object::kFingerprints || id == object::kFacialImage ||
         id == object::kPrintedInformation || id == object::kIrisImages;
}

}  // namespace certkey::protocol
