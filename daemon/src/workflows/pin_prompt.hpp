// certkeyd asks for PINs itself (DESIGN.md section 6, item 4), through certkey::pinentry: the
// prompt names who asks (the web site's origin, or "a program on this computer"), what for,
// and which token, in English and Chinese. The PIN then goes to the module with C_Login and
// every copy is wiped.
#pragma once
#include <certkey/pinentry/pinentry_client.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "../core/caller.hpp"
#include "../tokens/token_state.hpp"

namespace certkey::daemon {

// What the PIN is for, completing "... asks for the PIN of your USB KEY to <en>".
struct OperationText {
  std::string en;  // e.g. "renew the certificate \"CN=Alice\""
  std::string zh;  // e.g. "更新证书「CN=Alice」"
};

// What the prompt asks for.
enum class SecretKind {
  pin,            // the user PIN
  puk,            // the PUK (unblocks the PIN)
  new_pin,        // a new PIN, chosen now
  new_pin_again,  // the same new PIN once more, to catch a typing error
};

class PinPrompt {
 public:
  PinPrompt(std::string program, std::chrono::seconds timeout)
      : program_(std::move(program)), timeout_(timeout) {}

  // Asks until `deadline` at most (the operation's) and the prompt timeout. Throws
  // ApiError: pin_cancelled, pin_prompt_timed_out, pin_prompt_unavailable.
  pinentry::Secret ask(const Caller& caller, SecretKind kind, const OperationText& operation,
                       const TokenState& token, pinentry::Deadline deadline,
                       const pinentry::Cancellation& cancellation) const;
  // A yes-or-no question about `operation` (e.g. deleting a certificate); true for yes.
  // Throws ApiError: pin_prompt_timed_out, pin_prompt_unavailable.
  bool confirm(const Caller& caller, const OperationText& operation, const TokenState& token,
               pinentry::Deadline deadline, const pinentry::Cancellation& cancellation) const;

  // The prompt's text (pure; shown in tests).
  static std::string description(const Caller& caller, const OperationText& operation,
                                 const TokenState& token, SecretKind kind = SecretKind::pin);
  static std::string question(const Caller& caller, const OperationText& operation,
                              const TokenState& token);

 private:
  [[noreturn]] void fail(pinentry::Outcome outcome) const;
  std::string program_;
  std::chrono::seconds timeout_;
};

}  // namespace certkey::daemon
