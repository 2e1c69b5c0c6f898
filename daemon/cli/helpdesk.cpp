#include "helpdesk.hpp"

#include <certkey/card/error.hpp>
#include <openssl/crypto.h>
#include <pwd.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "helpdesk/audit_file.hpp"
#include "helpdesk/unlock_responder.hpp"
#include "views.hpp"

namespace certkey::cli {
namespace {

enum Exit { kDone = 0, kUsage = 2, kRefused = 4 };

struct HelpdeskOptions {
  std::vector<std::string> words;  // the action, then its operands
  helpdesk::HsmLocation hsm;
  std::string ticket, operator_name, audit_path;
  bool help = false;
};

const char* const kHelp =
    "usage: certkey helpdesk respond --ticket ID [--operator NAME] [--audit FILE] [HSM] SERIAL "
    "CHALLENGE\n"
    "       certkey helpdesk provision [HSM]\n"
    "\n"
    "respond    the response code for a caller's challenge (docs/unlock.md): computed in the\n"
    "           HSM from the token's serial and the challenge the caller reads out (spaces,\n"
    "           dashes and case do not matter). One JSON line goes to the audit file first:\n"
    "           time, operator, ticket, serial, challenge.\n"
    "provision  creates the master key in the HSM: AES-256, generated there, never extractable,\n"
    "           usable only to derive each token's unlock key. A key already there is kept.\n"
    "\n"
    "HSM:\n"
    "  --hsm-module PATH   its PKCS#11 module (default $CERTKEY_HSM_MODULE)\n"
    "  --hsm-token LABEL   its token's label (default $CERTKEY_HSM_TOKEN)\n"
    "  --key-label LABEL   the master key's label (default \"certkey unlock master key\")\n"
    "The HSM's user PIN is asked for on the terminal, or read as one line from standard input\n"
    "when that is not a terminal; it is never taken on the command line.\n"
    "--ticket is the help-desk ticket under which the caller's identity was checked;\n"
    "--operator defaults to the login name; --audit defaults to\n"
    "$XDG_STATE_HOME/certkey/helpdesk-audit.jsonl (~/.local/state when unset).\n"
    "Exit status: 0 done, 2 usage or a challenge that does not check, 4 the HSM refused.\n";

const char* environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

bool parse(const std::vector<std::string>& args, HelpdeskOptions& o) {
  o.hsm.module = environment("CERTKEY_HSM_MODULE");
  o.hsm.token_label = environment("CERTKEY_HSM_TOKEN");
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--help" || a == "-h")
      o.help = true;
    else if (a == "--hsm-module" && has_value)
      o.hsm.module = args[++i];
    else if (a == "--hsm-token" && has_value)
      o.hsm.token_label = args[++i];
    else if (a == "--key-label" && has_value)
      o.hsm.key_label = args[++i];
    else if (a == "--ticket" && has_value)
      o.ticket = args[++i];
    else if (a == "--operator" && has_value)
      o.operator_name = args[++i];
    else if (a == "--audit" && has_value)
      o.audit_path = args[++i];
    else if (!a.empty() && a[0] != '-')
      o.words.push_back(a);
    else
      return false;
  }
  return true;
}

void say(const std::string& text) { std::fputs(text.c_str(), stderr); }

// Wiped when it goes; filled in place (reserved first), so no copy is left behind.
struct WipedPin {
  std::string text;
  ~WipedPin() { OPENSSL_cleanse(text.data(), text.size()); }
};

// The HSM's user PIN, from the terminal with echo off, or a line of standard input. False,
// said, when none was given.
bool read_hsm_pin(const std::string& token_label, Language l, WipedPin& pin) {
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (terminal) {
    say(l == Language::zh ? "HSM 令牌“" + token_label + "”的用户 PIN："
                          : "User PIN of the HSM token '" + token_label + "': ");
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  char line[256];
  const bool got = std::fgets(line, sizeof line, stdin) != nullptr;
  if (terminal) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    say("\n");
  }
  pin.text.reserve(sizeof line);
  if (got) pin.text.assign(line, std::strcspn(line, "\r\n"));
  OPENSSL_cleanse(line, sizeof line);
  if (!got) say(l == Language::zh ? "未输入 HSM PIN。\n" : "No HSM PIN was given.\n");
  return got;
}

// "the HSM refused": what a PKCS#11 error means to the person at the help desk.
std::string hsm_error_text(const pkcs11::Error& e, Language l) {
  switch (e.rv()) {
    case CKR_PIN_INCORRECT:
      return l == Language::zh ? "HSM 拒绝了该 PIN。\n" : "The HSM refused the PIN.\n";
    case CKR_PIN_LOCKED:
      return l == Language::zh ? "HSM 的用户 PIN 已被锁定。\n" : "The HSM's user PIN is locked.\n";
    case CKR_MECHANISM_INVALID:
      return l == Language::zh
                 ? "该 HSM 不支持 CKM_AES_ECB_ENCRYPT_DATA 或 CKM_AES_CMAC。\n"
                 : "The HSM does not offer CKM_AES_ECB_ENCRYPT_DATA or CKM_AES_CMAC, which unlock "
                   "keys need.\n";
    default:
      return (l == Language::zh ? "HSM 出错：" : "The HSM failed: ") + std::string(e.what()) + "\n";
  }
}

std::optional<std::uint32_t> parse_serial(const std::string& text) {
  if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos)
    return {};
  const unsigned long long value = std::stoull(text);
  if (value > 0xFFFFFFFFull) return {};
  return static_cast<std::uint32_t>(value);
}

std::string login_name() {
  if (const passwd* p = ::getpwuid(::geteuid())) return p->pw_name;
  return std::to_string(::geteuid());
}

std::string default_audit_path() {
  const std::string state = environment("XDG_STATE_HOME");
  const std::string base =
      !state.empty() ? state : std::string(environment("HOME")) + "/.local/state";
  return base + "/certkey/helpdesk-audit.jsonl";
}

// Bounded, printable: what goes on record must be readable there.
bool acceptable_label(const std::string& text) {
  if (text.empty() || text.size() > 128) return false;
  for (const unsigned char c : text) {
    if (c < 0x20 || c == 0x7F) return false;
  }
  return true;
}

int respond(const HelpdeskOptions& o, Language l) {
  if (o.words.size() < 3 || o.ticket.empty()) {
    say(kHelp);
    if (o.ticket.empty()) {
      say(l == Language::zh ? "\n需要 --ticket：核实来电者身份的工单号。\n"
                            : "\n--ticket is needed: the ticket under which the caller's identity "
                              "was checked.\n");
    }
    return kUsage;
  }
  if (!acceptable_label(o.ticket) ||
      (!o.operator_name.empty() && !acceptable_label(o.operator_name))) {
    say(l == Language::zh ? "--ticket 和 --operator 须为不超过 128 字节的可打印文字。\n"
                          : "--ticket and --operator are printable text of at most 128 bytes.\n");
    return kUsage;
  }
  const std::optional<std::uint32_t> serial = parse_serial(o.words[1]);
  if (!serial) {
    say(l == Language::zh
            ? "序列号应为十进制数字（certkey unlock 显示的介质序列号）。\n"
            : "The serial is the token's decimal serial number, as certkey unlock shows it.\n");
    return kUsage;
  }
  std::string challenge_text;
  for (std::size_t i = 2; i < o.words.size(); ++i)
    challenge_text += (i > 2 ? " " : "") + o.words[i];
  card::unlock::Code challenge{};
  try {
    challenge = card::unlock::decode(challenge_text);
  } catch (const card::Error& e) {
    say((l == Language::zh ? "挑战码不正确（" : "The challenge code does not check (") +
        std::string(e.what()) +
        (l == Language::zh ? "）。请让来电者再读一遍。\n"
                           : "). Ask the caller to read it again.\n"));
    return kUsage;
  }
  WipedPin pin;
  if (!read_hsm_pin(o.hsm.token_label, l, pin)) return kRefused;
  helpdesk::UnlockResponder responder(o.hsm, pin.text);
  const card::unlock::Code response = responder.respond(*serial, challenge);
  const nlohmann::json record = {
      {"time", helpdesk::utc_now()},
      {"operator", o.operator_name.empty() ? login_name() : o.operator_name},
      {"ticket", o.ticket},
      {"serial", *serial},
      {"challenge", card::unlock::encode(challenge)},
      {"hsm_token", o.hsm.token_label}};
  const std::string audit = o.audit_path.empty() ? default_audit_path() : o.audit_path;
  if (!helpdesk::append_audit_line(audit, record)) {
    say((l == Language::zh ? "无法写入审计文件 " : "Cannot append to the audit file ") + audit +
        (l == Language::zh ? "，因此不显示应答码。\n"
                           : "; the response is not shown without its record.\n"));
    return kRefused;
  }
  std::printf(l == Language::zh ? "介质 %u 的应答码（工单 %s）：\n\n    "
                                  "%s\n\n请读给来电者。它只对这一次挑战有效，只能使用一次。\n"
                                : "Response for token %u (ticket %s):\n\n    %s\n\nRead it to the "
                                  "caller. It answers this "
                                  "challenge only, and works once.\n",
              *serial, terminal_safe(o.ticket).c_str(),
              spoken_code(card::unlock::encode(response)).c_str());
  return kDone;
}

int provision(const HelpdeskOptions& o, Language l) {
  if (o.words.size() != 1) {
    say(kHelp);
    return kUsage;
  }
  WipedPin pin;
  if (!read_hsm_pin(o.hsm.token_label, l, pin)) return kRefused;
  helpdesk::provision_master_key(o.hsm, pin.text);
  std::printf(
      l == Language::zh
          ? "主密钥“%s”已在 HSM 令牌“%s”中生成：AES-256，不可导出，仅用于派生。\n"
          : "The master key '%s' is made in the HSM token '%s': AES-256, generated there, not "
            "extractable, for derivation only.\n",
      terminal_safe(o.hsm.key_label).c_str(), terminal_safe(o.hsm.token_label).c_str());
  return kDone;
}

}  // namespace

int helpdesk_main(const std::vector<std::string>& args, Language l) {
  HelpdeskOptions o;
  if (!parse(args, o) || (!o.help && o.words.empty())) {
    say(kHelp);
    return kUsage;
  }
  if (o.help) {
    std::fputs(kHelp, stdout);
    return kDone;
  }
  if (o.hsm.module.empty() || o.hsm.token_label.empty()) {
    say(l == Language::zh
            ? "请指明 HSM：--hsm-module 和 --hsm-token（或 CERTKEY_HSM_MODULE 和 "
              "CERTKEY_HSM_TOKEN）。\n"
            : "Say which HSM: --hsm-module and --hsm-token (or CERTKEY_HSM_MODULE and "
              "CERTKEY_HSM_TOKEN).\n");
    return kUsage;
  }
  try {
    if (o.words[0] == "respond") return respond(o, l);
    if (o.words[0] == "provision") return provision(o, l);
    say(kHelp);
    return kUsage;
  } catch (const helpdesk::HsmError& e) {
    say((l == Language::zh ? "HSM：" : "HSM: ") + std::string(e.what()) + "\n");
    return kRefused;
  } catch (const pkcs11::Error& e) {
    say(hsm_error_text(e, l));
    return kRefused;
  }
}

}  // namespace certkey::cli
