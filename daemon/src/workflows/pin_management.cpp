#include "pin_management.hpp"

#include <openssl/crypto.h>

#include <certkey/card/error.hpp>
#include <certkey/card/unlock.hpp>

#include "../core/error_code.hpp"
#include "token_session.hpp"

namespace certkey::daemon {
namespace {

// PIV PINs (docs/pkcs11.md section 10.1).
constexpr std::size_t kMinPin = 6;
constexpr std::size_t kMaxPin = 8;

const OperationText kChangeText{"change its PIN", "修改 PIN 码"};
const OperationText kUnblockText{"unblock its PIN and set a new one", "解锁 PIN 码并设置新 PIN 码"};
const OperationText kRemoteText{"set a new PIN with the help desk's response code",
                                "用客服提供的应答码设置新 PIN 码"};

// The new PIN, asked twice; the two must match and have a PIN's length.
pinentry::Secret new_pin(TokenWork& work, const OperationText& why) {
  pinentry::Secret first = work.secret(SecretKind::new_pin, why);
  if (first.size() < kMinPin || first.size() > kMaxPin) throw ApiError(ErrorCode::new_pin_invalid);
  const pinentry::Secret second = work.secret(SecretKind::new_pin_again, why);
  if (second.size() != first.size() ||
      CRYPTO_memcmp(first.data(), second.data(), first.size()) != 0) {
    throw ApiError(ErrorCode::new_pin_mismatch);
  }
  return first;
}

// A PKCS#11 error of a PUK step: the PIN codes there speak of the PUK.
[[noreturn]] void throw_puk_error(const pkcs11::Error& e) {
  if (e.rv() == CKR_PIN_INCORRECT) throw ApiError(ErrorCode::puk_incorrect);
  if (e.rv() == CKR_PIN_LOCKED) throw ApiError(ErrorCode::puk_locked);
  throw_api_error(e);
}

[[noreturn]] void throw_unlock_error(const pkcs11::Error& e) {
  switch (e.rv()) {
    case CKR_PIN_INCORRECT: throw ApiError(ErrorCode::unlock_response_incorrect);
    case CKR_PIN_LOCKED: throw ApiError(ErrorCode::unlock_blocked);
    case CKR_OPERATION_NOT_INITIALIZED: throw ApiError(ErrorCode::no_unlock_challenge);
    case CKR_FUNCTION_NOT_SUPPORTED: throw ApiError(ErrorCode::unlock_not_available);
    default: throw_api_error(e);
  }
}

}  // namespace

void change_pin(TokenWork& work) {
  through_module([&] {
    TokenSession session(work);
    // The old PIN first, proved by a login: a wrong one ends here, before new PINs are asked.
    session.log_in(kChangeText);
    const pinentry::Secret pin = new_pin(work, kChangeText);
    (*session).set_pin(session.pin(), pin.view());
  });
}

void unblock_pin(TokenWork& work) {
  TokenSession session(work);
  try {
    const pinentry::Secret puk = work.secret(SecretKind::puk, kUnblockText);
    (*session).login_so(puk.view());
  } catch (const pkcs11::Error& e) {
    throw_puk_error(e);
  }
  const pinentry::Secret pin = new_pin(work, kUnblockText);
  through_module([&] { (*session).init_pin(pin.view()); });
}

std::string begin_remote_unlock(TokenWork& work) {
  try {
    const pkcs11::Bytes challenge = work.module.unlock_challenge(work.slot);
    card::unlock::Code code{};
    std::copy(challenge.begin(), challenge.end(), code.begin());
    return card::unlock::encode(code);
  } catch (const pkcs11::Error& e) {
    throw_unlock_error(e);
  }
}

void complete_remote_unlock(TokenWork& work, const std::string& response_code) {
  card::unlock::Code response{};
  try {
    response = card::unlock::decode(response_code);
  } catch (const card::Error& e) {
    throw ApiError(ErrorCode::unlock_code_invalid, e.what());
  }
  const pinentry::Secret pin = new_pin(work, kRemoteText);
  try {
    work.module.unlock_response(work.slot, pkcs11::Bytes(response.begin(), response.end()),
                                pin.view());
  } catch (const pkcs11::Error& e) {
    throw_unlock_error(e);
  }
}

}  // namespace certkey::daemon
