// The PIN operations of the CA rules (docs/daemon.md, "PINs"): change the PIN, unblock it
// with the PUK, and unlock it remotely through the help desk (docs/unlock.md). Every secret
// comes from the trusted prompt, a new PIN twice; none crosses the API. What the caller can
// get wrong (two different new PINs, a PIN of the wrong length, a mistyped response code) is
// refused before the token is asked, so no try is spent on it.
#pragma once
#include <string>

#include "token_work.hpp"

namespace certkey::daemon {

// The old PIN, then the new one twice. Throws ApiError.
void change_pin(TokenWork& work);
// The PUK, then the new PIN twice. Throws ApiError.
void unblock_pin(TokenWork& work);
// A fresh challenge from the token, as the code the holder reads out (docs/unlock.md
// section 5). It replaces any earlier one. Throws ApiError.
std::string begin_remote_unlock(TokenWork& work);
// The help desk's response code (checked first), then the new PIN twice. Throws ApiError.
void complete_remote_unlock(TokenWork& work, const std::string& response_code);

}  // namespace certkey::daemon
