// certkey: the desk user's command (docs/cli.md). A client of certkeyd's unix socket: every
// answer comes from the daemon, shown for people in Chinese or English, or as the API's JSON
// with --json.
//
// Exit status: 0 done; 1 the diagnosis found an error; 2 usage; 3 certkeyd is not running;
// 4 certkeyd refused or failed the command.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "daemon_client.hpp"
#include "views.hpp"

namespace certkey::cli {
namespace {

using nlohmann::json;

enum Exit { kDone = 0, kProblemFound = 1, kUsage = 2, kNotRunning = 3, kRefused = 4 };

// certkeyd answered with an error, which has been printed.
struct Refused {};

struct Options {
  std::string subcommand;
  std::string socket_path = ipc::default_socket_path();
  bool json = false;
  bool help = false;
};

const char* const kUsageText =
    "usage: certkey [--json] [--socket PATH] COMMAND\n"
    "\n"
    "Commands:\n"
    "  status     your tokens, their PIN state and certificates: days left, renewal due,\n"
    "             chain and revocation (the one to run when the help desk asks)\n"
    "  list       the tokens plugged in, one line each\n"
    "  diagnose   find out why \"it doesn't work\": pcscd, readers, drivers, tokens, PINs,\n"
    "             certificates, the clock; exits 1 when something is wrong\n"
    "  events     follow tokens being plugged in, pulled out and changed (Ctrl-C ends)\n"
    "\n"
    "Options:\n"
    "  --json         print the daemon's answer as JSON (the API's schemas, docs/cli.md)\n"
    "  --socket PATH  certkeyd's socket (default $XDG_RUNTIME_DIR/certkey/certkeyd.sock)\n"
    "  --help         this text; `certkey COMMAND --help` for one command\n"
    "\n"
    "Exit status: 0 done, 1 the diagnosis found an error, 2 usage, 3 certkeyd is not\n"
    "running, 4 certkeyd refused or failed the command.\n"
    "Language: Chinese when LANGUAGE, LC_ALL, LC_MESSAGES or LANG says zh, else English.\n";

const char* command_help(const std::string& command) {
  if (command == "status") {
    return "usage: certkey [--json] status\n"
           "Shows each token: its medium, serial and reader, its PIN state, and each certificate\n"
           "with its days left, whether renewal is due (30 days before expiry), its chain and its\n"
           "revocation status. --json prints {\"tokens\": [...], \"certificates\": [...]}: the\n"
           "members of GET /v1/tokens and GET /v1/certificates.\n";
  }
  if (command == "list") return "usage: certkey [--json] list\nOne line per token. --json prints GET /v1/tokens.\n";
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
  return nullptr;
}

// Options may come before or after the command.
bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json") o.json = true;
    else if (a == "--help" || a == "-h") o.help = true;
    else if (a == "--socket" && i + 1 < argc) o.socket_path = argv[++i];
    else if (!a.empty() && a[0] != '-' && o.subcommand.empty()) o.subcommand = a;
    else return false;
  }
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
    print(json{{"tokens", tokens["tokens"]}, {"certificates", certificates["certificates"]}}.dump(2) + "\n");
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
    print(l == Language::zh ? "正在等待事件（Ctrl-C 结束）……\n" : "Waiting for events (Ctrl-C ends)...\n");
  }
  std::fflush(stdout);
  while (const std::optional<json> event = daemon.next_event()) {
    print((o.json ? event->dump() : event_text(*event, l)) + "\n");
    std::fflush(stdout);
  }
  return kDone;
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
  Options o;
  if (!parse(argc, argv, o)) {
    std::fputs(kUsageText, stderr);
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
    return events(daemon, o, l);
  } catch (const NotRunning& e) {
    say_not_running(e, l);
    return kNotRunning;
  } catch (const ProtocolError& e) {
    std::fprintf(stderr, "certkey: %s\n", e.what());
    return kRefused;
  } catch (const Refused&) {
    return kRefused;
  }
}

}  // namespace
}  // namespace certkey::cli

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return certkey::cli::run(argc, argv);
}
