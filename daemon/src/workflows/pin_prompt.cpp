#include "pin_prompt.hpp"

#include "../core/error_code.hpp"
#include "../views/text.hpp"

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxShown = 200;  // of any one outside value in the prompt

// Outside text as the prompt shows it: valid UTF-8, bounded, and on one line, so that a
// token label cannot draw lines of its own into the trusted prompt.
std::string shown(std::string_view text) {
  std::string out = display_text(text, kMaxShown);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return out;
}

struct MediumNames {
  const char* en;
  const char* zh;
};

MediumNames medium_names(const std::string& medium) {
  if (medium == "usbkey") return {"USB KEY", "USB KEY"};
  if (medium == "sdkey") return {"SD KEY", "SD KEY"};
  if (medium == "sim") return {"SIM", "SIM 卡"};
  return {"smart card", "智能卡"};
}

struct Who {
  std::string en, zh;
};

Who who_asks(const Caller& caller) {
  if (caller.transport == Transport::certkeyd) return {"certkey", "certkey "};
  if (!caller.origin) return {"A program on this computer", "本机程序"};
  Who who{"The web site " + shown(caller.origin->text()),
          "网站 " + shown(caller.origin->text()) + " "};
  if (caller.transport == Transport::native_messaging) {
    who.en += " (through the certkey browser extension)";
    who.zh += "（经由 certkey 浏览器扩展）";
  }
  return who;
}

// The first sentence, in English and Chinese, for what is asked.
std::pair<std::string, std::string> request_sentence(SecretKind kind, const Who& who,
                                                     const MediumNames& medium,
                                                     const OperationText& operation) {
  const std::string en_op = shown(operation.en), zh_op = shown(operation.zh);
  switch (kind) {
    case SecretKind::pin: break;
    case SecretKind::puk:
      return {who.en + " asks for the PUK of your " + medium.en + " to " + en_op + ".",
              who.zh + "请求使用您的" + medium.zh + " PUK 码，以" + zh_op + "。"};
    case SecretKind::new_pin:
      return {who.en + " asks you to choose a new PIN (6 to 8 characters) for your " + medium.en +
                  " to " + en_op + ".",
              who.zh + "请您为" + medium.zh + "设置新的 PIN 码（6 至 8 位），以" + zh_op + "。"};
    case SecretKind::new_pin_again:
      return {who.en + " asks you to enter the new PIN for your " + medium.en + " again, to " +
                  en_op + ".",
              who.zh + "请您再次输入" + medium.zh + "的新 PIN 码，以" + zh_op + "。"};
  }
  return {who.en + " asks for the PIN of your " + medium.en + " to " + en_op + ".",
          who.zh + "请求使用您的" + medium.zh + " PIN 码，以" + zh_op + "。"};
}

const char* prompt_label(SecretKind kind) {
  switch (kind) {
    case SecretKind::pin: break;
    case SecretKind::puk: return "PUK:";
    case SecretKind::new_pin: return "New PIN:";
    case SecretKind::new_pin_again: return "Repeat:";
  }
  return "PIN:";
}

// The tries left of what is asked for, when some were used.
std::optional<int> tries_shown(SecretKind kind, const TokenState& token) {
  const PinStatus& status = kind == SecretKind::puk ? token.puk : token.pin;
  if (kind != SecretKind::pin && kind != SecretKind::puk) return std::nullopt;
  if (status.tries_left > 0 && status.tries_left < status.limit) return status.tries_left;
  return std::nullopt;
}

std::string compose(const std::pair<std::string, std::string>& sentence, const TokenState& token,
                    std::optional<int> tries, const char* credential = "PIN") {
  const std::string token_line = shown(token.label) + " (" + std::to_string(token.serial) + ")";
  std::string text = sentence.first + "\n" + "Token: " + token_line + "\n";
  if (tries) text += std::string(credential) + " tries left: " + std::to_string(*tries) + "\n";
  text += "\n" + sentence.second + "\n" + "介质：" + token_line + "\n";
  if (tries) text += "剩余尝试次数：" + std::to_string(*tries) + "\n";
  return text;
}

}  // namespace

std::string PinPrompt::description(const Caller& caller, const OperationText& operation,
                                   const TokenState& token, SecretKind kind) {
  return compose(request_sentence(kind, who_asks(caller), medium_names(token.medium), operation),
                 token, tries_shown(kind, token), kind == SecretKind::puk ? "PUK" : "PIN");
}

std::string PinPrompt::question(const Caller& caller, const OperationText& operation,
                                const TokenState& token) {
  const Who who = who_asks(caller);
  return compose({who.en + " asks to " + shown(operation.en) + ".",
                  who.zh + "请求" + shown(operation.zh) + "。"},
                 token, std::nullopt);
}

pinentry::Secret PinPrompt::ask(const Caller& caller, SecretKind kind,
                                const OperationText& operation, const TokenState& token,
                                pinentry::Deadline deadline,
                                const pinentry::Cancellation& cancellation) const {
  pinentry::Prompt prompt;
  prompt.title = "certkey";
  prompt.description = description(caller, operation, token, kind);
  prompt.prompt = prompt_label(kind);
  prompt.tty_name = caller.tty_name;
  prompt.tty_type = caller.tty_type;
  pinentry::Answer answer =
      pinentry::ask(program_, prompt,
                    std::min(deadline, std::chrono::steady_clock::now() + timeout_), &cancellation);
  if (answer.outcome == pinentry::Outcome::entered) return std::move(answer.secret);
  fail(answer.outcome);
}

bool PinPrompt::confirm(const Caller& caller, const OperationText& operation,
                        const TokenState& token, pinentry::Deadline deadline,
                        const pinentry::Cancellation& cancellation) const {
  pinentry::Prompt prompt;
  prompt.title = "certkey";
  prompt.description = question(caller, operation, token);
  prompt.confirm = true;
  prompt.ok_label = "Yes / 是";
  prompt.cancel_label = "No / 否";
  prompt.tty_name = caller.tty_name;
  prompt.tty_type = caller.tty_type;
  const pinentry::Answer answer =
      pinentry::ask(program_, prompt,
                    std::min(deadline, std::chrono::steady_clock::now() + timeout_), &cancellation);
  if (answer.outcome == pinentry::Outcome::entered) return true;
  if (answer.outcome == pinentry::Outcome::cancelled && !cancellation.cancelled()) return false;
  fail(answer.outcome);
}

void PinPrompt::fail(pinentry::Outcome outcome) const {
  switch (outcome) {
    case pinentry::Outcome::entered: break;
    case pinentry::Outcome::cancelled: throw ApiError(ErrorCode::pin_cancelled);
    case pinentry::Outcome::timed_out: throw ApiError(ErrorCode::pin_prompt_timed_out);
    case pinentry::Outcome::unavailable:
      throw ApiError(ErrorCode::pin_prompt_unavailable,
                     "cannot run the PIN prompt program \"" + program_ + "\"");
    case pinentry::Outcome::failed: break;
  }
  throw ApiError(ErrorCode::pin_prompt_unavailable,
                 "the PIN prompt program \"" + program_ + "\" failed");
}

}  // namespace certkey::daemon
