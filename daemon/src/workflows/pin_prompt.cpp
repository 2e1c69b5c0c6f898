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

}  // namespace

std::string PinPrompt::description(const Caller& caller, const OperationText& operation, const TokenState& token) {
  std::string who_en = "A program on this computer", who_zh = "本机程序";
  if (caller.origin) {
    who_en = "The web site " + shown(caller.origin->text());
    who_zh = "网站 " + shown(caller.origin->text()) + " ";
    if (caller.transport == Transport::native_messaging) {
      who_en += " (through the certkey browser extension)";
      who_zh += "（经由 certkey 浏览器扩展）";
    }
  }
  const MediumNames medium = medium_names(token.medium);
  const std::string token_line = shown(token.label) + " (" + std::to_string(token.serial) + ")";
  std::string text = who_en + " asks for the PIN of your " + medium.en + " to " + shown(operation.en) + ".\n" +
                     "Token: " + token_line + "\n";
  if (token.pin.tries_left > 0 && token.pin.tries_left < token.pin.limit) {
    text += "PIN tries left: " + std::to_string(token.pin.tries_left) + "\n";
  }
  text += "\n" + who_zh + "请求使用您的" + medium.zh + " PIN 码，以" + shown(operation.zh) + "。\n" + "介质：" +
          token_line + "\n";
  if (token.pin.tries_left > 0 && token.pin.tries_left < token.pin.limit) {
    text += "剩余尝试次数：" + std::to_string(token.pin.tries_left) + "\n";
  }
  return text;
}

pinentry::Secret PinPrompt::ask(const Caller& caller, const OperationText& operation, const TokenState& token,
                                pinentry::Deadline deadline, const pinentry::Cancellation& cancellation) const {
  pinentry::Prompt prompt;
  prompt.title = "certkey";
  prompt.description = description(caller, operation, token);
  prompt.prompt = "PIN:";
  prompt.tty_name = caller.tty_name;
  prompt.tty_type = caller.tty_type;
  pinentry::Answer answer =
      pinentry::ask(program_, prompt, std::min(deadline, std::chrono::steady_clock::now() + timeout_), &cancellation);
  switch (answer.outcome) {
    case pinentry::Outcome::entered: return std::move(answer.secret);
    case pinentry::Outcome::cancelled: throw ApiError(ErrorCode::pin_cancelled);
    case pinentry::Outcome::timed_out: throw ApiError(ErrorCode::pin_prompt_timed_out);
    case pinentry::Outcome::unavailable:
      throw ApiError(ErrorCode::pin_prompt_unavailable, "cannot run the PIN prompt program \"" + program_ + "\"");
    case pinentry::Outcome::failed: break;
  }
  throw ApiError(ErrorCode::pin_prompt_unavailable, "the PIN prompt program \"" + program_ + "\" failed");
}

}  // namespace certkey::daemon
