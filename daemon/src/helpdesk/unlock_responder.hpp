// The help desk's side of remote unlock (docs/unlock.md sections 3, 4 and 8): the CA's master
// key M lives in a PKCS#11 token (an HSM; SoftHSM2 in the tests), and every computation with
// M, or with the per-token key derived from it, happens inside that token. `certkey helpdesk`
// and the reference portal (DESIGN.md section 7) both use this.
#pragma once
#include <certkey/card/unlock.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "pkcs11/pkcs11_client.hpp"

namespace certkey::helpdesk {

// Where the master key is: the HSM's PKCS#11 module, its token's label, the key's label.
struct HsmLocation {
  std::string module;
  std::string token_label;
  std::string key_label = "certkey unlock master key";
};

// Something about the HSM's contents, as opposed to a PKCS#11 failure (pkcs11::Error).
class HsmError : public std::runtime_error {
 public:
  enum class Kind { no_token, no_master_key, several_master_keys, master_key_exists };
  HsmError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class UnlockResponder {
 public:
  // Opens the HSM's token and logs in as its user. Throws HsmError or pkcs11::Error
  // (CKR_PIN_INCORRECT for a wrong PIN).
  UnlockResponder(const HsmLocation& where, std::string_view pin);

  // R = response(K_u, serial, challenge) (docs/unlock.md section 4). K_u is derived inside
  // the HSM as a session key that is sensitive, not extractable, and destroyed afterwards.
  card::unlock::Code respond(std::uint32_t serial, const card::unlock::Code& challenge);

  // Issuance (docs/unlock.md section 8): K_u's value, for the personalisation station to
  // write to the token with SET UNLOCK KEY. Only this call lets a derived key out.
  card::Bytes issuance_key(std::uint32_t serial);

 private:
  CK_OBJECT_HANDLE derive_unlock_key(std::uint32_t serial, bool extractable);

  pkcs11::Module module_;
  pkcs11::Session session_;
  CK_OBJECT_HANDLE master_key_ = 0;
};

// Generates M inside the HSM: AES-256, sensitive, never extractable, usable only to derive.
// Throws HsmError(master_key_exists) rather than make a second key with the label.
void provision_master_key(const HsmLocation& where, std::string_view pin);

}  // namespace certkey::helpdesk
