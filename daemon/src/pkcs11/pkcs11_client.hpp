// A PKCS#11 client: loads a module, calls it, and turns its return values into exceptions
// that keep the CK_RV. certkeyd reaches its tokens only through this and certkey's vendor
// interface (DESIGN.md section 2); nothing here knows the daemon, so the help-desk tools can
// drive an HSM's module (SoftHSM2 in tests) with it and benchmarks can time it.
#pragma once
#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "certkey/pkcs11_vendor.h"

namespace certkey::pkcs11 {

using Bytes = std::vector<std::uint8_t>;

class Error : public std::runtime_error {
 public:
  Error(CK_RV rv, const std::string& what);
  CK_RV rv() const { return rv_; }

 private:
  CK_RV rv_;
};

class Module {
 public:
  // Loads and initialises the module (with OS locking, as libp11 does). Throws Error
  // (CKR_GENERAL_ERROR when it cannot be loaded; CKR_CRYPTOKI_ALREADY_INITIALIZED while
  // another Module of the same library is alive in the process).
  explicit Module(const std::string& path);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST_PTR api() const { return api_; }
  // certkey's vendor interface; null for any other module.
  const CK_CERTKEY_FUNCTION_LIST* vendor() const { return vendor_; }

  std::vector<CK_SLOT_ID> slots(bool with_token) const;
  CK_SLOT_INFO slot_info(CK_SLOT_ID slot) const;
  CK_TOKEN_INFO token_info(CK_SLOT_ID slot) const;
  CK_CERTKEY_TOKEN_INFO certkey_token_info(CK_SLOT_ID slot) const;  // needs vendor()
  // A fresh remote-unlock challenge (docs/unlock.md). Needs vendor().
  Bytes unlock_challenge(CK_SLOT_ID slot) const;
  // The help desk's response and the new PIN. Needs vendor().
  void unlock_response(CK_SLOT_ID slot, const Bytes& response, std::string_view new_pin) const;
  // Blocks until a slot changes (C_WaitForSlotEvent without CKF_DONT_BLOCK). Returns the
  // slot, or nothing once the module is finalised (C_Finalize ends the wait).
  std::optional<CK_SLOT_ID> wait_for_slot_event() const;
  // The same without blocking: a slot that changed since the last call, or nothing. The
  // first call only takes note of the present state.
  std::optional<CK_SLOT_ID> poll_slot_event() const;
  // Ends the module (C_Finalize), which also ends a wait_for_slot_event in another thread.
  void finalize();

 private:
  void* library_ = nullptr;
  CK_FUNCTION_LIST_PTR api_ = nullptr;
  const CK_CERTKEY_FUNCTION_LIST* vendor_ = nullptr;
  bool initialized_ = false;
};

// The blank-padded text of a fixed-width PKCS#11 field, without the padding.
std::string field_text(const CK_UTF8CHAR* field, std::size_t width);

// The slot holding the token labelled `label`, if one is present.
std::optional<CK_SLOT_ID> slot_with_token_label(const Module& module, std::string_view label);

// One session, closed (and logged out) when it goes away.
class Session {
 public:
  Session(const Module& module, CK_SLOT_ID slot, bool read_write);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  CK_SESSION_HANDLE handle() const { return handle_; }
  // C_Login as the user; CKR_USER_ALREADY_LOGGED_IN counts as success.
  void login(std::string_view pin);
  // C_Login as the security officer (the PUK, docs/pkcs11.md section 10.1).
  void login_so(std::string_view puk);
  // C_InitPIN: a new user PIN, after login_so (the PUK unblocks the PIN).
  void init_pin(std::string_view new_pin);
  // C_SetPIN: the user's PIN from `old_pin` to `new_pin`.
  void set_pin(std::string_view old_pin, std::string_view new_pin);
  // The session's objects of a class (and CKA_ID), from one listing of all its objects that
  // the session keeps until it writes or logs in: a C_FindObjectsInit costs a token transaction
  // (docs/pkcs11.md section 7), and a command looks up many objects.
  std::vector<CK_OBJECT_HANDLE> find(CK_OBJECT_CLASS object_class, const Bytes* id = nullptr);
  std::vector<CK_OBJECT_HANDLE> find_labelled(CK_OBJECT_CLASS object_class, std::string_view label);
  Bytes attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
  // C_SignInit + C_Sign with a mechanism that takes no parameter. For a key that needs the
  // PIN for each use (CKA_ALWAYS_AUTHENTICATE), `context_pin` is given to
  // C_Login(CKU_CONTEXT_SPECIFIC) between the two.
  Bytes sign(CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mechanism, const Bytes& data,
             std::optional<std::string_view> context_pin = std::nullopt);
  CK_OBJECT_HANDLE create(std::vector<CK_ATTRIBUTE> attributes);
  struct KeyPair {
    CK_OBJECT_HANDLE public_key = 0, private_key = 0;
  };
  KeyPair generate_key_pair(CK_MECHANISM_TYPE mechanism, std::vector<CK_ATTRIBUTE> public_template,
                            std::vector<CK_ATTRIBUTE> private_template);
  // C_GenerateKey: a secret key made inside the token.
  CK_OBJECT_HANDLE generate_key(CK_MECHANISM_TYPE mechanism,
                                std::vector<CK_ATTRIBUTE> key_template);
  // C_DeriveKey from `base` with a mechanism and its parameter.
  CK_OBJECT_HANDLE derive_key(CK_OBJECT_HANDLE base, CK_MECHANISM mechanism,
                              std::vector<CK_ATTRIBUTE> key_template);
  void destroy(CK_OBJECT_HANDLE object);
  // Swaps the keys and certificates of the slots with CKA_IDs `a` and `b` in one commit on
  // the token (docs/pkcs11.md section 13). Needs certkey's vendor interface and the login.
  void swap_slots(CK_BYTE a, CK_BYTE b);

 private:
  struct Listed {
    CK_OBJECT_HANDLE handle;
    CK_OBJECT_CLASS object_class;
    Bytes id;
  };
  std::vector<CK_OBJECT_HANDLE> find_matching(CK_ATTRIBUTE* query, CK_ULONG count);
  const std::vector<Listed>& listing();

  CK_FUNCTION_LIST_PTR api_;
  const CK_CERTKEY_FUNCTION_LIST* vendor_;
  CK_SLOT_ID slot_;
  std::optional<std::vector<Listed>> listing_;  // dropped by every write and login
  CK_SESSION_HANDLE handle_ = 0;
  bool logged_in_ = false;
};

}  // namespace certkey::pkcs11
