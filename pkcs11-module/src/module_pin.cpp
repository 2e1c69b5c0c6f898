// C_Login, C_Logout, C_InitPIN, C_SetPIN. The user is the PIV PIN; the security officer is
// the PUK, which unblocks the PIN either as C_Login(CKU_SO, PUK) + C_InitPIN(new), or as
// C_SetPIN(PUK, new) in a session that is not logged in while the PIN is blocked.
#include <certkey/card/error.hpp>
#include <certkey/pinentry/pinentry_client.hpp>
#include <openssl/crypto.h>

#include <chrono>

#include "module.hpp"

namespace certkey::p11 {
namespace {

// The prompt runs under the module lock: a prompt nobody answers must not hold it forever.
constexpr std::chrono::minutes kPromptDeadline{5};

void require_ok(const card::Response& r) {
  if (r.ok()) return;
  // 63C0: this attempt used the last try, so the PIN is now blocked.
  if (r.retries_left() == 0) throw Failure{CKR_PIN_LOCKED};
  if (r.retries_left() > 0) throw Failure{CKR_PIN_INCORRECT};
  if (r.is(Sw::authentication_blocked)) throw Failure{CKR_PIN_LOCKED};
  if (r.is(Sw::incorrect_data)) throw Failure{CKR_PIN_INVALID};
  throw Failure{CKR_DEVICE_ERROR};
}

}  // namespace

CK_RV Module::login(CK_SESSION_HANDLE handle, CK_USER_TYPE user, const CK_UTF8CHAR* pin,
                    CK_ULONG length) {
  Session& s = session(handle);
  Token& token = token_of(s);
  if (user != CKU_USER && user != CKU_SO && user != CKU_CONTEXT_SPECIFIC)
    return CKR_USER_TYPE_INVALID;
  WipedPin secret;
  if (pin) {
    // A length no PIN or PUK has is simply not the PIN: C_Login's own CKR_PIN_INCORRECT
    // (CKR_PIN_LEN_RANGE is not among its return values), with nothing sent to the token.
    if (!pin_length_possible(length)) return CKR_PIN_INCORRECT;
    secret.text.assign(reinterpret_cast<const char*>(pin), length);
  } else {
    // No PIN from the application: the configured trusted prompt asks for it.
    if (config_.pinentry.empty()) return CKR_ARGUMENTS_BAD;
    // The SO, and a context-specific login outside an operation (OpenSC's unblock), give the PUK.
    const bool puk =
        user == CKU_SO || (user == CKU_CONTEXT_SPECIFIC && !s.operation.needs_context_login);
    const char* purpose = puk && user == CKU_CONTEXT_SPECIFIC ? "unblock the PIN."
                          : user == CKU_CONTEXT_SPECIFIC      ? "use a key once."
                                                              : "log in.";
    pinentry::Prompt prompt;
    prompt.title = "certkey";
    prompt.description = "A program asks for the " + std::string(puk ? "PUK" : "PIN") +
                         " of the certkey token in reader \"" + token.reader() + "\" to " + purpose;
    prompt.prompt = puk ? "PUK:" : "PIN:";
    pinentry::Answer answer =
        pinentry::ask(config_.pinentry, prompt, std::chrono::steady_clock::now() + kPromptDeadline);
    if (answer.outcome != pinentry::Outcome::entered) return CKR_FUNCTION_CANCELED;
    if (!pin_length_possible(answer.secret.size())) return CKR_PIN_INCORRECT;
    secret.text.assign(answer.secret.data(), answer.secret.size());
  }
  if (user == CKU_CONTEXT_SPECIFIC && s.operation.needs_context_login) {
    try {
      token.run([&](card::TokenClient& c) { require_ok(c.verify_pin(secret.text)); });
    } catch (const Failure&) {
      token.set_logged_out();  // a failed VERIFY also ends the card's PIN-verified state
      throw;
    }
    s.operation.context_login_done = true;
    return CKR_OK;
  }
  if (user == CKU_CONTEXT_SPECIFIC) {
    // Without an operation, OpenSC's convention: the PUK as the context of a following
    // C_SetPIN(PUK, new) that unblocks the PIN. Proven like an SO login.
    if (token.user_logged_in() || token.so_logged_in()) return CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
    token.run([&](card::TokenClient& c) {
      require_ok(c.change_reference(protocol::KeyRef::puk, secret.text, secret.text));
    });
    token.note_own_write({});  // the PUK, as itself
    token.set_unblock_context(secret.text);
    return CKR_OK;
  }
  if (token.user_logged_in() || token.so_logged_in()) {
    return (user == CKU_USER) == token.user_logged_in() ? CKR_USER_ALREADY_LOGGED_IN
                                                        : CKR_USER_ANOTHER_ALREADY_LOGGED_IN;
  }
  if (user == CKU_SO) {
    for (const auto& [h, other] : sessions_) {
      if (other.token_index == s.token_index && !(other.flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY_EXISTS;
    }
    // PIV has no VERIFY for the PUK; changing it to itself proves it (and counts a try).
    token.run([&](card::TokenClient& c) {
      require_ok(c.change_reference(protocol::KeyRef::puk, secret.text, secret.text));
    });
    token.note_own_write({});  // the PUK, as itself
    token.set_so_logged_in(secret.text);
    return CKR_OK;
  }
  token.run([&](card::TokenClient& c) {
    require_ok(c.verify_pin(secret.text));
    // The change counter in the same transaction, for the C_FindObjectsInit that follows a
    // login in nearly every application (docs/pkcs11.md 7.2). The login stands without it.
    try {
      token.objects_checked(c, handle);
    } catch (const card::Error& e) {
      if (e.kind() != card::Error::Kind::refused && e.kind() != card::Error::Kind::bad_response)
        throw;
    }
  });
  token.set_user_logged_in(secret.text);
  return CKR_OK;
}

CK_RV Module::logout(CK_SESSION_HANDLE handle) {
  Session& s = session(handle);
  Token& token = token_of(s);
  if (!token.user_logged_in() && !token.so_logged_in() && !token.in_unblock_context()) {
    return CKR_USER_NOT_LOGGED_IN;
  }
  end_login(token);
  return CKR_OK;
}

CK_RV Module::init_pin(CK_SESSION_HANDLE handle, const CK_UTF8CHAR* pin, CK_ULONG length) {
  Session& s = session(handle, pin != nullptr);
  Token& token = token_of(s);
  if (!token.so_logged_in()) return CKR_USER_NOT_LOGGED_IN;
  if (!(s.flags & CKF_RW_SESSION)) return CKR_SESSION_READ_ONLY;
  WipedPin new_pin{pin_text(pin, length)};
  token.run(
      [&](card::TokenClient& c) { require_ok(c.unblock_pin(token.login_secret(), new_pin.text)); });
  token.note_own_write({});
  return CKR_OK;
}

CK_RV Module::set_pin(CK_SESSION_HANDLE handle, const CK_UTF8CHAR* old_pin, CK_ULONG old_length,
                      const CK_UTF8CHAR* new_pin, CK_ULONG new_length) {
  Session& s = session(handle, old_pin && new_pin);
  Token& token = token_of(s);
  if (!(s.flags & CKF_RW_SESSION)) return CKR_SESSION_READ_ONLY;
  WipedPin old_text{pin_text(old_pin, old_length)};
  WipedPin new_text{pin_text(new_pin, new_length)};
  const bool unblock_context = token.in_unblock_context();
  token.run([&](card::TokenClient& c) {
    if (token.so_logged_in()) {
      require_ok(c.change_reference(protocol::KeyRef::puk, old_text.text, new_text.text));
    } else if (unblock_context ||
               (!token.user_logged_in() && c.pin_state(protocol::KeyRef::pin).remaining == 0)) {
      require_ok(c.unblock_pin(old_text.text, new_text.text));  // OpenSC's unblock convention
    } else {
      require_ok(c.change_reference(protocol::KeyRef::pin, old_text.text, new_text.text));
    }
  });
  if (token.so_logged_in()) token.set_so_logged_in(new_text.text);
  if (token.user_logged_in()) token.set_user_logged_in(new_text.text);
  if (unblock_context) token.set_logged_out();
  token.note_own_write({});
  return CKR_OK;
}

}  // namespace certkey::p11
