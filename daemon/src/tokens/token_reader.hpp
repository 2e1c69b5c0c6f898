// Reads a token's state through the PKCS#11 module: the slot, the vendor interface's token
// information (serial, medium, change counter, PIN and PUK state in one APDU), the token
// label, and the certificates. Runs on the token's worker thread.
#pragma once
#include <optional>

#include "../pkcs11/pkcs11_client.hpp"
#include "token_state.hpp"

namespace certkey::daemon {

// The whole state of the token in `slot`, or nothing when the slot holds none. Throws
// pkcs11::Error.
std::optional<TokenState> read_token(const pkcs11::Module& module, CK_SLOT_ID slot);

// Brings `state` up to date with one TOKEN INFO: the PIN and PUK state always, and
// everything else again when the change counter moved (another program changed the token).
// Returns whether anything changed. Throws pkcs11::Error.
bool revalidate_token(const pkcs11::Module& module, TokenState& state);

}  // namespace certkey::daemon
