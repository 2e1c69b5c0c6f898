// What a workflow needs to act on one token: the module, the slot, the token as the snapshot
// has it, who asks, and a way to get PINs and confirmations (the trusted prompt, or the
// request's PIN for an origin configured for legacy mode). Built by the command core on the
// token's worker.
#pragma once
#include <certkey/pinentry/secret.hpp>
#include <functional>

#include "../core/caller.hpp"
#include "../pkcs11/pkcs11_client.hpp"
#include "../tokens/token_state.hpp"
#include "pin_prompt.hpp"

namespace certkey::daemon {

struct TokenWork {
  pkcs11::Module& module;
  CK_SLOT_ID slot;
  const TokenState& token;
  const Caller& caller;
  // Asks the trusted prompt (for SecretKind::pin, a legacy-mode request's PIN comes first).
  std::function<pinentry::Secret(SecretKind, const OperationText&)> secret;
  // Asks the trusted prompt a yes-or-no question; true for yes.
  std::function<bool(const OperationText&)> confirm;

  pinentry::Secret pin(const OperationText& operation) const {
    return secret(SecretKind::pin, operation);
  }
};

// A failed PKCS#11 call as the API error the caller should see (one total mapping).
[[noreturn]] void throw_api_error(const pkcs11::Error& e);

// Runs `call`, mapping pkcs11::Error to ApiError.
template <typename Call>
auto through_module(Call&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const pkcs11::Error& e) {
    throw_api_error(e);
  }
}

}  // namespace certkey::daemon
