// The daemon's way to the tokens: libcertkey-pkcs11.so and its vendor interface (DESIGN.md
// section 2), never APDUs. One TokenService per daemon; its calls are made from the daemon's
// one token worker thread, never from the network thread.
#pragma once
#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "certkey/pkcs11_vendor.h"

namespace certkey::daemon {

using Bytes = std::vector<std::uint8_t>;

struct CertificateSummary {
  std::string id;  // CKA_ID, hex: the name the API uses for the certificate and its key
  std::string label;
  std::string subject;  // RFC 2253
  std::string issuer;
  std::string not_before;  // ISO 8601, UTC
  std::string not_after;
};

struct TokenSummary {
  std::uint32_t serial = 0;
  std::string medium;  // "smartcard", "sim", "usbkey", "sdkey"
  std::string label;
  std::string reader;
  std::string pin_state;  // "ok", "count_low", "final_try", "locked"
  std::vector<CertificateSummary> certificates;
};

struct RenewalKey {
  std::string key_id;  // hex CKA_ID of the new key pair
  std::string csr_pem;
};

class TokenService {
 public:
  // Loads and initialises the module; throws ApiError(internal_error) when it cannot.
  explicit TokenService(const std::string& module_path);
  ~TokenService();
  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  std::vector<TokenSummary> list_tokens();
  // Renewal, first half: a new P-256 key pair on the token, in a free retired key slot, and
  // a PKCS#10 request for it with the subject of certificate `certificate_id`, signed on the
  // token. The old key and certificate are not touched. The PIN is asked for by the module's
  // trusted prompt (pinentry), never taken from the API.
  // `reserve` is called with the new key's id once it is chosen and before the key is made,
  // so the caller can record it (and refuse, by throwing); ids in `reserved` are never used.
  // If anything fails after the key pair was made, the key pair is destroyed again.
  RenewalKey begin_renewal(std::uint32_t serial, const std::string& certificate_id,
                           const std::vector<std::string>& reserved,
                           const std::function<void(const std::string& key_id)>& reserve);
  // Second half: writes `certificate_der` beside the new key after checking it certifies
  // that key, and reads it back.
  void complete_renewal(std::uint32_t serial, const std::string& key_id, const Bytes& certificate_der);

 private:
  class Session;
  CK_SLOT_ID find_slot(std::uint32_t serial);
  std::vector<CK_SLOT_ID> slots_with_tokens();

  void* library_ = nullptr;
  CK_FUNCTION_LIST_PTR p11_ = nullptr;
  CK_CERTKEY_FUNCTION_LIST* vendor_ = nullptr;
};

}  // namespace certkey::daemon
