// certkey: the desk user's command (docs/cli.md). A client of certkeyd's unix socket: every
// answer comes from the daemon, shown for people in Chinese or English, or as the API's JSON
// with --json.
//
// Exit status: 0 done; 1 the diagnosis found an error; 2 usage; 3 certkeyd is not running;
// 4 certkeyd refused or failed the command.
#include <csignal>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "daemon_client.hpp"
#include "helpdesk.hpp"
#include "views.hpp"

namespace certkey::cli {
namespace {

using nlohmann::json;

enum Exit { kDone = 0, kProblemFound = 1, kUsage = 2, kNotRunning = 3, kRefused = 4 };

// certkeyd answered with an error, or the command cannot go on; the reason has been printed.
struct Refused {};
// The command needs something the user did not give (which token); said on stderr.
struct UsageError {};

struct Options {
  std::string subcommand;
  std::string token;               // --token SERIAL: which token, when more than one is plugged in
  std::string certificate = "01";  // --certificate ID: which certificate to renew
  std::string csr_out, cert_in, chain;  // renew's files
  std::string est, ca_url;              // renew through the CA's server
  std::string socket_path = ipc::default_socket_path();
  bool json = false;
  bool help = false;
};

const char* const kUsageText =
    "usage: certkey [--json] [--socket PATH] [--token SERIAL] COMMAND\n"
    "\n"
    "Commands:\n"
    "  status     your tokens, their PIN state and certificates: days left, renewal due,\n"
    "             chain and revocation (the one to run when the help desk asks)\n"
    "  list       the tokens plugged in, one line each\n"
    "  diagnose   find out why \"it doesn't work\": pcscd, readers, drivers, tokens, PINs,\n"
    "             certificates, the clock; exits 1 when something is wrong\n"
    "  events     follow tokens being plugged in, pulled out and changed (Ctrl-C ends)\n"
    "  change-pin change the PIN: the old one, then the new one twice, in certkey's prompt\n"
    "  unblock    unblock a blocked PIN with the PUK, and choose a new PIN\n"
    "  unlock     unblock a blocked PIN with the help desk, over the phone: read them the\n"
    "             challenge, type the response they read back, choose a new PIN\n"
    "  renew      renew a certificate: with the CA's EST server (--est URL), its renewal\n"
    "             endpoint (--ca-url URL), or request and certificate files (--csr-out\n"
    "             FILE, then --cert-in FILE [--chain FILE])\n"
    "  helpdesk   the help desk's side of unlock: respond, provision (certkey helpdesk --help)\n"
    "\n"
    "Options:\n"
    "  --json         print the daemon's answer as JSON (the API's schemas, docs/cli.md)\n"
    "  --socket PATH  certkeyd's socket (default $XDG_RUNTIME_DIR/certkey/certkeyd.sock)\n"
    "  --token SERIAL the token to work on, when more than one is plugged in\n"
    "  --help         this text; `certkey COMMAND --help` for one command\n"
    "\n"
    "Exit status: 0 done, 1 the diagnosis found an error, 2 usage, 3 certkeyd is not\n"
    "running, 4 certkeyd refused or failed the command.\n"
    "PINs are never taken on the command line: certkeyd asks for them in its own prompt.\n"
    "Language: Chinese when LANGUAGE, LC_ALL, LC_MESSAGES or LANG says zh, else English.\n";

const char* command_help(const std::string& command) {
  if (command == "status") {
    return "usage: certkey [--json] status\n"
           "Shows each token: its medium, serial and reader, its PIN state, and each certificate\n"
           "with its days left, whether renewal is due (30 days before expiry), its chain and its\n"
           "revocation status. --json prints {\"tokens\": [...], \"certificates\": [...]}: the\n"
           "members of GET /v1/tokens and GET /v1/certificates.\n";
  }
  if (command == "list")
    return "usage: certkey [--json] list\nOne line per token. --json prints GET /v1/tokens.\n";
  if (command == "diagnose") {
    return "usage: certkey [--json] diagnose\n"
           "Each check with its status and, when something is wrong, what to do. Exits 1 when a\n"
           "finding is an error. --json prints GET /v1/diagnosis.\n";
  }
  if (command == "events") {
    return "usage: certkey [--json] events\n"
           "Prints each event as it happens until certkeyd stops or Ctrl-C. --json prints each\n"
           "event message on a line of its own.\n";
  }
  if (command == "change-pin") {
    return "usage: certkey [--token SERIAL] change-pin\n"
           "certkeyd's prompt asks for the current PIN, then for the new one twice.\n";
  }
  if (command == "unblock") {
    return "usage: certkey [--token SERIAL] unblock\n"
           "For a blocked PIN: certkeyd's prompt asks for the PUK, then for a new PIN twice.\n";
  }
  if (command == "unlock") {
    return "usage: certkey [--token SERIAL] unlock\n"
           "For a blocked PIN, with the help desk on the phone: certkey shows a challenge to read\n"
           "to them, then takes the response code they read back (spaces, dashes and lower case\n"
           "do not matter; a mistyped code is refused without using up a try). certkeyd's prompt\n"
           "then asks for a new PIN twice.\n";
  }
  if (command == "renew") {
    return "usage: certkey [--token SERIAL] renew [--certificate ID] --est URL\n"
           "       certkey [--token SERIAL] renew [--certificate ID] --ca-url URL\n"
           "       certkey [--token SERIAL] renew [--certificate ID] --csr-out FILE\n"
           "       certkey [--token SERIAL] renew [--certificate ID] --cert-in FILE [--chain "
           "FILE]\n"
           "Renews the certificate in slot ID (default 01).\n"
           "--est: with the CA's EST server (https://ca.example/.well-known/est): the request "
           "goes\n"
           "to it over TLS authenticated by the current certificate, whose key signs on the "
           "token;\n"
           "the certificate it issues is checked, written and made current, all in one step.\n"
           "--ca-url: the same with a CA endpoint that takes the request with its authorization.\n"
           "--csr-out: a new key is made on the token and the request, signed on the token, is\n"
           "written to FILE (with its authorization, signed by the current key, in FILE.jws);\n"
           "give it to your CA. --cert-in: the certificate the CA issued (PEM), with its\n"
           "intermediate CAs in --chain if the daemon is not configured with them, is checked,\n"
           "written and made current in slot ID; the old one moves to a retired slot.\n";
  }
  return nullptr;
}

// Options may come before or after the command.
bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json")
      o.json = true;
    else if (a == "--help" || a == "-h")
      o.help = true;
    else if (a == "--socket" && i + 1 < argc)
      o.socket_path = argv[++i];
    else if (a == "--token" && i + 1 < argc)
      o.token = argv[++i];
    else if (a == "--certificate" && i + 1 < argc)
      o.certificate = argv[++i];
    else if (a == "--csr-out" && i + 1 < argc)
      o.csr_out = argv[++i];
    else if (a == "--cert-in" && i + 1 < argc)
      o.cert_in = argv[++i];
    else if (a == "--chain" && i + 1 < argc)
      o.chain = argv[++i];
    else if (a == "--est" && i + 1 < argc)
      o.est = argv[++i];
    else if (a == "--ca-url" && i + 1 < argc)
      o.ca_url = argv[++i];
    else if (!a.empty() && a[0] != '-' && o.subcommand.empty())
      o.subcommand = a;
    else
      return false;
  }
  // renew takes exactly one way to the CA.
  const int ways = !o.csr_out.empty() + !o.cert_in.empty() + !o.est.empty() + !o.ca_url.empty();
  if (o.subcommand == "renew" && !o.help && ways != 1) return false;
  return o.help || command_help(o.subcommand) != nullptr;
}

// The reply's result; an error is printed and thrown as Refused.
json result_of(const json& reply, Language l) {
  if (reply.contains("result") && reply["status"].get<int>() < 300) return reply["result"];
  std::fputs(error_text(reply.value("error", json::object()), l).c_str(), stderr);
  throw Refused{};
}

void print(const std::string& text) { std::fputs(text.c_str(), stdout); }

int status(DaemonClient& daemon, const Options& o, Language l) {
  // The certificates' status first: it revalidates every token, so the list that follows
  // shows what another program wrote a moment ago (docs/daemon.md, "One command core").
  const json certificates = result_of(daemon.call("queryCertificates"), l);
  const json tokens = result_of(daemon.call("listTokens"), l);
  if (o.json) {
    const json both = {{"tokens", tokens.value("tokens", json::array())},
                       {"certificates", certificates.value("certificates", json::array())}};
    print(both.dump(2) + "\n");
  } else {
    print(status_text(tokens, certificates, l, std::time(nullptr)));
  }
  return kDone;
}

int list(DaemonClient& daemon, const Options& o, Language l) {
  const json tokens = result_of(daemon.call("listTokens"), l);
  print(o.json ? tokens.dump(2) + "\n" : list_text(tokens, l));
  return kDone;
}

int diagnose(DaemonClient& daemon, const Options& o, Language l) {
  const json diagnosis = result_of(daemon.call("diagnose"), l);
  print(o.json ? diagnosis.dump(2) + "\n" : diagnosis_text(diagnosis, l));
  for (const json& f : diagnosis.value("findings", json::array())) {
    if (f.value("status", "") == "error") return kProblemFound;
  }
  return kDone;
}

int events(DaemonClient& daemon, const Options& o, Language l) {
  result_of(daemon.call("watchEvents"), l);
  if (!o.json) {
    print(l == Language::zh ? "正在等待事件（Ctrl-C 结束）……\n"
                            : "Waiting for events (Ctrl-C ends)...\n");
  }
  std::fflush(stdout);
  while (const std::optional<json> event = daemon.next_event()) {
    print((o.json ? event->dump() : event_text(*event, l, std::time(nullptr))) + "\n");
    std::fflush(stdout);
  }
  return kDone;
}

void say(const std::string& text) { std::fputs(text.c_str(), stderr); }

const Text kUnblocked{"The PIN is unblocked and set to the new one.\n",
                      "PIN 已解锁并设置为新 PIN。\n"};

// The token a command works on: --token, or the only one plugged in.
std::uint64_t chosen_token(DaemonClient& daemon, const Options& o, Language l) {
  const json listed = result_of(daemon.call("listTokens"), l);
  const json tokens = listed.value("tokens", json::array());
  for (const json& t : tokens) {
    if (!o.token.empty() && std::to_string(t.value("serial", std::uint64_t{0})) == o.token)
      return t["serial"];
  }
  if (o.token.empty() && tokens.size() == 1) return tokens[0]["serial"];
  if (!o.token.empty()) {
    say(l == Language::zh ? "未找到序列号为 " + o.token + " 的介质。\n"
                          : "No token with serial " + o.token + " is plugged in.\n");
    throw Refused{};
  }
  if (tokens.empty()) {
    say(list_text(listed, l));
    throw Refused{};
  }
  say(std::string(l == Language::zh
                      ? "插入了多个介质，请用 --token 序列号 选择一个：\n"
                      : "Several tokens are plugged in; choose one with --token SERIAL:\n") +
      list_text(listed, l));
  throw UsageError{};
}

// A command whose secrets the daemon's prompt asks for: says what will be asked, and what
// came of it.
int prompted_command(DaemonClient& daemon, const Options& o, Language l, const char* command,
                     const Text& asked, const Text& done) {
  const std::uint64_t serial = chosen_token(daemon, o, l);
  print(asked.in(l));
  result_of(daemon.call_with_terminal(command, {{"token", serial}}), l);
  print(done.in(l));
  return kDone;
}

int change_pin(DaemonClient& daemon, const Options& o, Language l) {
  return prompted_command(
      daemon, o, l, "changePin",
      {"certkey's prompt asks for the current PIN, then for the new one twice.\n",
       "请在 certkey 的提示框中输入当前 PIN，再输入两次新 PIN。\n"},
      {"The PIN is changed.\n", "PIN 已修改。\n"});
}

int unblock(DaemonClient& daemon, const Options& o, Language l) {
  return prompted_command(daemon, o, l, "unblockPin",
                          {"certkey's prompt asks for the PUK, then for a new PIN twice.\n",
                           "请在 certkey 的提示框中输入 PUK，再输入两次新 PIN。\n"},
                          kUnblocked);
}

// Misread response codes typed again before certkey gives up (the challenge stays valid).
constexpr int kResponseAttempts = 5;

// One line from standard input, without its line end; nothing at the end of input.
std::optional<std::string> typed_line() {
  char line[256];
  if (!std::fgets(line, sizeof line, stdin)) return std::nullopt;
  std::string text = line;
  text.erase(text.find_last_not_of("\r\n") + 1);
  return text;
}

int unlock(DaemonClient& daemon, const Options& o, Language l) {
  const std::uint64_t serial = chosen_token(daemon, o, l);
  const json challenge = result_of(daemon.call("beginRemoteUnlock", {{"token", serial}}), l);
  print(
      (l == Language::zh ? "请将以下挑战码读给服务台：\n\n    "
                         : "Read this challenge to the help desk:\n\n    ") +
      spoken_code(challenge.value("challenge", "")) +
      (l == Language::zh
           ? "\n\n请输入服务台读回的应答码（空格、短横线和大小写均可）：\n"
           : "\n\nType the response code the help desk reads back (spaces, dashes and case do not "
             "matter):\n"));
  // A code misheard or mistyped is refused before the token is asked (no try is used) and
  // the challenge stays: the user types it again as the help desk reads it again.
  for (int attempt = 1;; ++attempt) {
    std::fflush(stdout);
    const std::optional<std::string> response = typed_line();
    if (!response) {
      say(l == Language::zh
              ? "未输入应答码。请再次运行 certkey unlock 获取新的挑战码。\n"
              : "No response was typed. Run certkey unlock again for a new challenge.\n");
      throw Refused{};
    }
    // The daemon checks the code before its prompt asks for the new PIN.
    const json reply = daemon.call_with_terminal("completeRemoteUnlock",
                                                 {{"token", serial}, {"response", *response}});
    const bool misread =
        reply.contains("error") && reply["error"].value("code", "") == "unlock_code_invalid";
    if (!misread || attempt == kResponseAttempts) {
      result_of(reply, l);
      break;
    }
    say(error_text(reply["error"], l));
    print(l == Language::zh ? "请再次输入应答码：\n" : "Type the response code again:\n");
  }
  print(kUnblocked.in(l));
  return kDone;
}

constexpr std::size_t kMaxPemFile = 64 * 1024;  // a certificate, or a chain of a few

std::string read_pem_file(const std::string& path, Language l) {
  std::string text(kMaxPemFile + 1, '\0');
  std::size_t length = 0;
  if (FILE* in = std::fopen(path.c_str(), "rb")) {
    length = std::fread(text.data(), 1, text.size(), in);
    if (std::ferror(in)) length = 0;
    std::fclose(in);
  }
  text.resize(length);
  if (text.empty() || text.size() > kMaxPemFile) {
    say(l == Language::zh ? "无法读取 " + path + "（需要不超过 64 KiB 的 PEM 文件）。\n"
                          : "Cannot read " + path + " (a PEM file of at most 64 KiB is needed).\n");
    throw Refused{};
  }
  return text;
}

void write_new_file(const std::string& path, const std::string& text, Language l) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    say(l == Language::zh ? "无法写入 " + path + "。\n" : "Cannot write " + path + ".\n");
    throw Refused{};
  }
}

// The renewal of this token's certificate that waits for the CA's certificate.
std::string awaiting_renewal(DaemonClient& daemon, std::uint64_t serial, const Options& o,
                             Language l) {
  const json listed = result_of(daemon.call("listRenewals"), l);
  for (const json& r : listed.value("renewals", json::array())) {
    if (r.value("token", std::uint64_t{0}) == serial &&
        r.value("certificate", "") == o.certificate &&
        r.value("state", "") == "awaiting_certificate") {
      return r.value("id", "");
    }
  }
  say(l == Language::zh
          ? "该证书没有等待 CA 证书的更新。请先运行 certkey renew --csr-out 文件。\n"
          : "No renewal of this certificate is waiting for the CA's certificate. Begin one with "
            "certkey renew --csr-out FILE.\n");
  throw Refused{};
}

int renew_begin(DaemonClient& daemon, const Options& o, Language l, std::uint64_t serial) {
  print(l == Language::zh
            ? "正在介质上生成新密钥并签署证书请求（certkey 的提示框会要求输入 PIN）……\n"
            : "Making a new key on the token and signing the request there (certkey's prompt asks "
              "for the PIN)...\n");
  std::fflush(stdout);
  const json renewal =
      result_of(daemon.call_with_terminal("beginRenewal",
                                          {{"token", serial}, {"certificate", o.certificate}}),
                l)["renewal"];
  write_new_file(o.csr_out, renewal.value("csr", ""), l);
  write_new_file(o.csr_out + ".jws", renewal.value("authorization", "") + "\n", l);
  print(l == Language::zh
            ? "证书请求已写入 " + o.csr_out + "（授权见 " + o.csr_out +
                  ".jws）。请交给证书颁发机构，\n"
                  "然后运行：certkey renew --cert-in 证书文件\n"
            : "The request is in " + o.csr_out + " (its authorization in " + o.csr_out +
                  ".jws). Give it to your certificate authority, then run:\n"
                  "  certkey renew --cert-in CERTIFICATE_FILE\n");
  return kDone;
}

int renew_complete(DaemonClient& daemon, const Options& o, Language l, std::uint64_t serial) {
  json args = {{"id", awaiting_renewal(daemon, serial, o, l)},
               {"certificate", read_pem_file(o.cert_in, l)}};
  if (!o.chain.empty()) args["chain"] = read_pem_file(o.chain, l);
  print(l == Language::zh ? "正在检查并写入新证书……\n"
                          : "Checking the certificate and writing it to the token...\n");
  std::fflush(stdout);
  result_of(daemon.call_with_terminal("completeRenewal", args), l);
  print(l == Language::zh ? "新证书已在槽位 " + o.certificate + " 中生效；旧证书已移至备用槽位。\n"
                          : "The new certificate is current in slot " + o.certificate +
                                "; the old one moved to a retired slot.\n");
  return kDone;
}

// One command does it all in certkeyd: a new key (or the renewal already awaiting its
// certificate), the request to the CA's server, the certificate checked and made current.
int renew_through_server(DaemonClient& daemon, const Options& o, Language l, std::uint64_t serial) {
  const bool est = !o.est.empty();
  const std::string url = est ? o.est : o.ca_url;
  if (!o.json) {
    print(l == Language::zh ? "正在生成新密钥并向证书颁发机构 " + terminal_safe(url) +
                                  " 申请证书（certkey 的提示框会要求输入 PIN）……\n"
                            : "Making a new key on the token and asking " + terminal_safe(url) +
                                  " for its certificate (certkey's prompt asks for the PIN)...\n");
    std::fflush(stdout);
  }
  const json args = {{"token", serial},
                     {"certificate", o.certificate},
                     {"url", url},
                     {"protocol", est ? "est" : "authorization"}};
  const json done = result_of(daemon.call_with_terminal("enrollRenewal", args), l);
  if (o.json) {
    print(done.dump(2) + "\n");
    return kDone;
  }
  print(l == Language::zh ? "新证书已在槽位 " + o.certificate + " 中生效；旧证书已移至备用槽位。\n"
                          : "The new certificate is current in slot " + o.certificate +
                                "; the old one moved to a retired slot.\n");
  return kDone;
}

int renew(DaemonClient& daemon, const Options& o, Language l) {
  const std::uint64_t serial = chosen_token(daemon, o, l);
  if (!o.est.empty() || !o.ca_url.empty()) return renew_through_server(daemon, o, l, serial);
  return o.csr_out.empty() ? renew_complete(daemon, o, l, serial)
                           : renew_begin(daemon, o, l, serial);
}

void say_not_running(const NotRunning& e, Language l) {
  if (l == Language::zh) {
    std::fprintf(stderr, "certkeyd 未运行（%s）。\n请先启动它：certkeyd &\n", e.what());
  } else {
    std::fprintf(stderr, "certkeyd is not running (%s).\nStart it first: certkeyd &\n", e.what());
  }
}

int run(int argc, char** argv) {
  const Language l = language_from_environment();
  if (argc > 1 && std::strcmp(argv[1], "helpdesk") == 0)
    return helpdesk_main({argv + 2, argv + argc}, l);
  Options o;
  if (!parse(argc, argv, o)) {
    const char* text = command_help(o.subcommand);
    std::fputs(text ? text : kUsageText, stderr);
    return kUsage;
  }
  if (o.help) {
    const char* text = command_help(o.subcommand);
    print(text ? text : kUsageText);
    return kDone;
  }
  try {
    DaemonClient daemon(o.socket_path);
    if (o.subcommand == "status") return status(daemon, o, l);
    if (o.subcommand == "list") return list(daemon, o, l);
    if (o.subcommand == "diagnose") return diagnose(daemon, o, l);
    if (o.subcommand == "change-pin") return change_pin(daemon, o, l);
    if (o.subcommand == "unblock") return unblock(daemon, o, l);
    if (o.subcommand == "unlock") return unlock(daemon, o, l);
    if (o.subcommand == "renew") return renew(daemon, o, l);
    return events(daemon, o, l);
  } catch (const NotRunning& e) {
    say_not_running(e, l);
    return kNotRunning;
  } catch (const ProtocolError& e) {
    std::fprintf(stderr, "certkey: %s\n", e.what());
    return kRefused;
  } catch (const Refused&) {
    return kRefused;
  } catch (const UsageError&) {
    return kUsage;
  }
}

}  // namespace
}  // namespace certkey::cli

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return certkey::cli::run(argc, argv);
}
