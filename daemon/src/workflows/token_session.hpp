// One read-write PKCS#11 session on the token a workflow acts on, with the slot-level steps
// the workflows share. It logs in when a step first needs the PIN (asked once, through
// TokenWork::pin) and keeps the PIN for keys that need it on every use (PIV 9C); the PIN is
// wiped when the session ends.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "pin_prompt.hpp"
#include "token_work.hpp"

namespace certkey::daemon {

// A key or certificate id of the API ("01", two lower-case hex digits) as its CKA_ID byte.
// Throws ApiError(bad_request).
pkcs11::Bytes slot_id(const std::string& text);

class TokenSession {
 public:
  explicit TokenSession(TokenWork& work) : work_(work), session_(work.module, work.slot, true) {}

  pkcs11::Session& operator*() { return session_; }
  // Asks for the PIN (once) and logs in.
  void log_in(const OperationText& why);
  bool logged_in() const { return pin_.has_value(); }
  // The PIN given to log_in ("" before it).
  std::string_view pin() const { return pin_ ? pin_->view() : std::string_view(); }

  // The DER certificate in slot `id`, if it has one.
  std::optional<pkcs11::Bytes> certificate(const pkcs11::Bytes& id);
  // Writes `der` as the certificate of slot `id`, replacing any, and reads it back.
  // Throws ApiError(token_error) when it does not read back as written.
  void write_certificate(const pkcs11::Bytes& id, const pkcs11::Bytes& der);
  // Deletes slot `id`'s key pair and certificate, logging in (for `why`) only if there is
  // anything to delete.
  void clear_slot(const pkcs11::Bytes& id, const OperationText& why);

 private:
  TokenWork& work_;
  pkcs11::Session session_;
  std::optional<pinentry::Secret> pin_;
};

}  // namespace certkey::daemon
