// What a workflow needs to act on one token: the module, the slot, the token as the snapshot
// has it, who asks, and a way to get the PIN (the trusted prompt, or the request's PIN for
// an origin configured for legacy mode). Built by the command core on the token's worker.
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
  std::function<pinentry::Secret(const OperationText&)> pin;
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
