// The vendor interface (include/certkey/pkcs11_vendor.h): token information, remote unlock
// and the swap of two key slots, which PKCS#11 has no calls for.
#include <certkey/card/error.hpp>

#include "module.hpp"

namespace certkey::p11 {

CK_RV Module::vendor_token_info(CK_SLOT_ID slot, CK_CERTKEY_TOKEN_INFO* info) {
  require_initialized();
  if (!info) return CKR_ARGUMENTS_BAD;
  Token& token = present_token(slot);
  card::TokenInfo ti = token.run([](card::TokenClient& c) {
    card::TokenInfo read = c.token_info();
    if (!read.pin) read.pin = c.pin_state(protocol::KeyRef::pin);
    if (!read.puk) read.puk = c.pin_state(protocol::KeyRef::puk);
    return read;
  });
  info->serial = ti.serial;
  info->medium = static_cast<CK_ULONG>(ti.medium);
  info->firmware = {ti.firmware[0], ti.firmware[1]};
  info->firmware_patch = ti.firmware[2];
  info->change_counter = ti.change_counter;
  info->unlock_retries =
      ti.unlock_retries ? static_cast<CK_ULONG>(ti.unlock_retries->second) : ~CK_ULONG{0};
  info->pin_retry_limit = static_cast<CK_ULONG>(ti.pin->limit);
  info->pin_retries = static_cast<CK_ULONG>(ti.pin->remaining);
  info->pin_is_default = ti.pin->is_default ? CK_TRUE : CK_FALSE;
  info->puk_retry_limit = static_cast<CK_ULONG>(ti.puk->limit);
  info->puk_retries = static_cast<CK_ULONG>(ti.puk->remaining);
  info->puk_is_default = ti.puk->is_default ? CK_TRUE : CK_FALSE;
  return CKR_OK;
}

CK_RV Module::vendor_unlock_challenge(CK_SLOT_ID slot, CK_BYTE* challenge) {
  require_initialized();
  if (!challenge) return CKR_ARGUMENTS_BAD;
  Token& token = present_token(slot);
  try {
    card::unlock::Code code = token.run([](card::TokenClient& c) { return c.unlock_challenge(); });
    std::copy(code.begin(), code.end(), challenge);
  } catch (const card::Error& e) {
    if (e.is(Sw::reference_not_found))
      return CKR_FUNCTION_NOT_SUPPORTED;  // the token has no unlock key
    throw;
  }
  return CKR_OK;
}

CK_RV Module::vendor_unlock_response(CK_SLOT_ID slot, const CK_BYTE* response,
                                     const CK_UTF8CHAR* pin, CK_ULONG length) {
  require_initialized();
  if (!response || !pin) return CKR_ARGUMENTS_BAD;
  Token& token = present_token(slot);
  WipedPin new_pin{pin_text(pin, length)};
  card::unlock::Code code{};
  std::copy(response, response + code.size(), code.begin());
  card::Response r =
      token.run([&](card::TokenClient& c) { return c.unlock_with_response(code, new_pin.text); });
  if (r.ok()) {
    token.note_own_write({});  // a new PIN, no object
    return CKR_OK;
  }
  token.invalidate_cache();
  if (r.retries_left() == 0) return CKR_PIN_LOCKED;  // that was the unlock key's last try
  if (r.retries_left() > 0) return CKR_PIN_INCORRECT;
  switch (static_cast<Sw>(r.sw)) {
    case Sw::authentication_blocked: return CKR_PIN_LOCKED;
    case Sw::conditions_not_satisfied: return CKR_OPERATION_NOT_INITIALIZED;
    case Sw::incorrect_data: return CKR_PIN_INVALID;
    default: return CKR_DEVICE_ERROR;
  }
}

// Renewal's "make current": two key slots exchange keys and certificates in one commit on
// the token (SWAP SLOTS, docs/protocol.md 7.6). A write like C_CreateObject: the user logged
// in, then the management key and the swap in one PC/SC transaction.
CK_RV Module::vendor_swap_slots(CK_SLOT_ID slot, CK_BYTE key_id_a, CK_BYTE key_id_b) {
  require_initialized();
  // Slots are named as PKCS#11 applications know them, by CKA_ID (section 6.2).
  const std::optional<std::uint8_t> piv_slot_a = slot_for_key_id({key_id_a});
  const std::optional<std::uint8_t> piv_slot_b = slot_for_key_id({key_id_b});
  if (!piv_slot_a || !piv_slot_b || key_id_a == key_id_b) return CKR_ARGUMENTS_BAD;
  Token& token = present_token(slot);
  if (!token.user_logged_in()) return CKR_USER_NOT_LOGGED_IN;
  try {
    token.run([&](card::TokenClient& c) {
      authenticate_management(c);
      c.swap_slots(*piv_slot_a, *piv_slot_b);
    });
  } catch (const card::Error& e) {
    token.invalidate_cache();  // an answer lost on the way may hide a swap that happened
    if (e.is(Sw::ins_not_supported))
      return CKR_FUNCTION_NOT_SUPPORTED;  // firmware without SWAP SLOTS
    throw;
  } catch (...) {
    token.invalidate_cache();
    throw;
  }
  token.note_own_write({*piv_slot_a, *piv_slot_b});
  return CKR_OK;
}

}  // namespace certkey::p11
