#include "token_work.hpp"

#include "../core/error_code.hpp"

namespace certkey::daemon {

void throw_api_error(const pkcs11::Error& e) {
  switch (e.rv()) {
    case CKR_FUNCTION_CANCELED: throw ApiError(ErrorCode::pin_cancelled);
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_INVALID: throw ApiError(ErrorCode::pin_incorrect);
    case CKR_PIN_LOCKED: throw ApiError(ErrorCode::pin_locked);
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SLOT_ID_INVALID:  // a USB KEY or SD KEY reader that went away with its token
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED: throw ApiError(ErrorCode::token_removed, e.what());
    default: throw ApiError(ErrorCode::token_error, e.what());
  }
}

}  // namespace certkey::daemon
