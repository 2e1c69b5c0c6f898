// What the daemon knows of one token: read through the PKCS#11 module and its vendor
// interface (token_reader.cpp), kept in the snapshot, shown by the JSON views.
#pragma once
#include <p11-kit/pkcs11.h>

#include "certkey/pkcs11_vendor.h"

#include <cstdint>
#include <string>
#include <vector>

namespace certkey::daemon {

// The PIV retired key slots (82-95) as the module names them in CKA_ID (docs/pkcs11.md
// section 6.2): a renewal makes its new key there, and the superseded key and certificate
// wait there afterwards until retention removes them.
inline constexpr std::uint8_t kFirstRetiredId = CERTKEY_KEY_ID_FIRST_RETIRED;
inline constexpr std::uint8_t kLastRetiredId = CERTKEY_KEY_ID_LAST_RETIRED;

// `id` as the API writes it: two lower-case hex digits.
inline bool is_retired_id(const std::string& id) {
  if (id.size() != 2 || id.find_first_not_of("0123456789abcdef") != std::string::npos) return false;
  const unsigned long value = std::stoul(id, nullptr, 16);
  return value >= kFirstRetiredId && value <= kLastRetiredId;
}

struct PinStatus {
  int limit = 0;
  int tries_left = 0;
  bool is_default = false;
  bool operator==(const PinStatus&) const = default;
};

struct CertificateInfo {
  std::string id;  // CKA_ID, hex: the name the API uses for the certificate and its key
  std::string label;
  std::string subject;  // RFC 2253, as the certificate has it (the views sanitise)
  std::string issuer;
  std::string serial_number;  // hex
  std::string not_before;     // ISO 8601, UTC
  std::string not_after;
  std::vector<std::uint8_t> der;  // for chain and revocation checks (not shown by the views)
  bool operator==(const CertificateInfo&) const = default;
};

struct TokenState {
  CK_SLOT_ID slot = 0;
  std::uint32_t serial = 0;
  std::string medium;  // "smartcard", "sim", "usbkey", "sdkey"
  std::string label;
  std::string reader;  // as the module names the slot: at most 64 bytes of the reader name
  PinStatus pin;
  PinStatus puk;
  std::uint32_t change_counter = 0;
  std::vector<CertificateInfo> certificates;
  bool operator==(const TokenState&) const = default;
};

// "ok", "count_low", "final_try" or "locked".
const char* pin_state_name(const PinStatus& pin);

}  // namespace certkey::daemon
