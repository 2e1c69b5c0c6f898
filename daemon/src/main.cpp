// certkeyd: the certkey daemon (docs/daemon.md). One command core behind four transports:
// HTTP and WebSocket on loopback for the CA's web pages, a unix socket for the certkey
// command and the browser extension's native-messaging relay.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <pthread.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "app/options.hpp"
#include "app/resident_memory.hpp"
#include "app/socket_activation.hpp"
#include "app/systemd_notify.hpp"
#include "config/config.hpp"
#include "core/command_core.hpp"
#include "ipc/frame_codec.hpp"
#include "net/envelope.hpp"
#include "net/http_session.hpp"
#include "net/tcp_listener.hpp"
#include "net/unix_listener.hpp"
#include "state/audit_log.hpp"
#include "reminders/expiry_reminders.hpp"
#include "state/reminder_store.hpp"
#include "state/renewal_store.hpp"
#include "state/slot_change_store.hpp"
#include "certs/certificate_status.hpp"
#include "certs/revocation.hpp"
#include "certs/trust_store.hpp"
#include "handlers/handlers.hpp"
#include "tokens/token_registry.hpp"
#include "views/json_views.hpp"
#include "views/text.hpp"
#include "workflows/pin_prompt.hpp"

namespace {

using namespace certkey::daemon;
namespace asio = boost::asio;
namespace fs = std::filesystem;

// How long the sessions get to end at shutdown: a turn of the network loop each, or a refused
// connection's linger (HttpSession::kLingerTimeout).
constexpr std::chrono::seconds kDrainTime = kLingerTimeout + std::chrono::seconds(1);
// How long token reads must pause before library pages are given back (release_pages_when_quiet).
constexpr std::chrono::seconds kQuietBeforeRelease{1};

void say(const std::string& text) { std::fprintf(stderr, "certkeyd: %s\n", text.c_str()); }

// The module holds the PIN while a session is logged in, and the daemon holds it between
// the prompt and C_Login: no core dumps, no ptrace by other processes of the user.
void harden_process() {
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  std::signal(SIGPIPE, SIG_IGN);
  // SIGINT and SIGTERM wait, blocked, until the shutdown handler exists (serve() unblocks
  // them); threads started before then never take them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // Every connection is a descriptor: the soft limit goes up to the hard one.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
}

std::string default_state_dir() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state)
    return std::string(state) + "/certkey";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.local/state/certkey";
  return {};
}

// The configuration file's settings with the command line's on top.
Config effective_config(const Options& options) {
  std::optional<std::string> file =
      options.config_file ? options.config_file : default_config_file();
  Config config = file ? load_config(*file) : Config{};
  if (file) say("configuration from " + *file);
  if (options.allowed_origins) config.allowed_origins = *options.allowed_origins;
  if (options.port) config.port = *options.port;
  return config;
}

struct Listening {
  std::vector<std::shared_ptr<TcpListener>> tcp;
  std::shared_ptr<UnixListener> unix_socket;
  unsigned port = 0;
  void stop() {
    for (auto& l : tcp) l->stop();
    if (unix_socket) unix_socket->stop();
  }
};

// The sockets systemd made (socket activation): served as they are, whatever the
// configured port says.
Listening adopt(NetContext& net, const InheritedSockets& inherited) {
  Listening l;
  for (const int fd : inherited.tcp) l.tcp.push_back(std::make_shared<TcpListener>(net, fd));
  for (auto& listener : l.tcp) listener->run(listener->port());
  if (!l.tcp.empty()) l.port = l.tcp.front()->port();
  if (inherited.unix_socket) {
    l.unix_socket = std::make_shared<UnixListener>(net, *inherited.unix_socket);
    l.unix_socket->run();
  }
  return l;
}

// HTTP on 127.0.0.1 and [::1] (same port), and the unix socket. What cannot be bound is said
// plainly and the rest keeps serving; nothing at all is an error.
Listening listen(NetContext& net, unsigned port, const std::string& socket_path) {
  Listening l;
  for (const char* address : {"127.0.0.1", "::1"}) {
    const unsigned wanted = l.port ? l.port : port;
    const std::string shown = std::string(address) == "::1" ? "[::1]" : address;
    try {
      auto listener = std::make_shared<TcpListener>(
          net, asio::ip::tcp::endpoint(asio::ip::make_address(address),
                                       static_cast<unsigned short>(wanted)));
      if (!l.port) l.port = listener->port();
      l.tcp.push_back(std::move(listener));
    } catch (const boost::system::system_error& e) {
      say("cannot listen on " + shown + ":" + std::to_string(wanted) + " (" + e.code().message() +
          ")" +
          (e.code() == asio::error::address_in_use
               ? "; another program, or another user's certkeyd, has this port: give each user a "
                 "port of their own "
                 "(port = ... in certkeyd.toml)"
               : ""));
    }
  }
  for (auto& listener : l.tcp) listener->run(l.port);
  if (l.tcp.empty()) say("HTTP is off; the unix socket still serves");
  try {
    l.unix_socket = std::make_shared<UnixListener>(net, socket_path);
    l.unix_socket->run();
  } catch (const std::exception& e) {
    say(e.what());
  }
  return l;
}

// The port, once listening. A FIFO is written in place, so a script can wait for the daemon
// by reading it; a file is replaced whole, so a reader never sees half a number.
void write_port_file(const std::string& path, unsigned port) {
  if (fs::is_fifo(path)) {
    std::ofstream(path) << port << "\n";
    return;
  }
  const std::string temporary = path + ".new";
  std::ofstream(temporary) << port << "\n";
  fs::rename(temporary, path);
}

// Whether a daemon answers on the unix socket already: a second one for the same user stops
// before it touches the state database or the tokens.
bool another_daemon_on(const std::string& socket_path) {
  asio::io_context probe_io;
  asio::local::stream_protocol::socket probe(probe_io);
  boost::system::error_code ec;
  probe.connect(asio::local::stream_protocol::endpoint(socket_path), ec);
  return !ec;
}

std::string checked_state_dir(const Options& options) {
  const std::string dir = options.state_dir.value_or(default_state_dir());
  if (dir.empty())
    throw std::runtime_error("no state directory: set XDG_STATE_HOME or HOME, or --state-dir");
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all);
  return dir;
}

void unblock_stop_signals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  ::pthread_sigmask(SIG_UNBLOCK, &stop, nullptr);  // a SIGTERM that came early is handled now
}

// The running daemon. Members are declared in the order they must outlive each other: the
// state and the module first; the event hub and the connection cap before the io_context,
// because sessions leave them when they end.
class Daemon {
 public:
  Daemon(const Options& options, const Config& config, InheritedSockets inherited)
      : options_(options),
        config_(config),
        inherited_(std::move(inherited)),
        state_dir_(checked_state_dir(options)),
        db_(state_dir_ + "/certkeyd.db"),
        renewals_(db_),
        slot_changes_(db_),
        audit_(db_),
        reminder_store_(db_),
        trust_(config.trust_anchors, config.intermediates),
        certificates_(trust_, revocation_),
        module_(options.module.value_or(CERTKEY_DEFAULT_MODULE)),
        connections_(config.limits.max_connections, config.limits.max_websockets),
        io_(std::make_unique<asio::io_context>(1)),
        tokens_(module_,
                [this](const char* event, const TokenState& token) { publish(event, token); }),
        reminders_([this] { return tokens_.snapshot(); }, reminder_store_, config.reminder_days,
                   [this](const nlohmann::json& data) {
                     events_.publish(std::make_shared<const std::string>(
                         event_envelope("certificateExpiring", json_text(data))));
                   }),
        prompt_(config.pinentry, config.pin_timeout),
        services_{config, tokens_, renewals_, slot_changes_,
                  audit_, prompt_, trust_,    certificates_},
        core_(*io_, services_),
        net_{*io_, config, core_, connections_, events_},
        signals_(*io_, SIGINT, SIGTERM),
        shutdown_deadline_(*io_),
        page_release_(*io_) {
    if (!module_.vendor())
      throw std::runtime_error("the PKCS#11 module is not certkey's (no vendor interface 2.0)");
    renewals_.import_journal(state_dir_ + "/renewals.json");
    audit_.prune(config.audit_retention_days);
    // A token read touches OpenSSL's decoders. Their pages go back once reads have paused,
    // not after each: reading smaps and faulting the pages in again cost every renewal about
    // 7 ms (docs/benchmarks.md, "Renewal").
    tokens_.after_reading([this] { asio::post(*io_, [this] { release_pages_when_quiet(); }); });
    tokens_.start();
  }

  int run(const std::string& socket_path) {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) begin_stopping();
    });
    unblock_stop_signals();
    start_listening(socket_path);
    release_clean_file_pages();  // what start-up alone needed (docs/daemon.md, "How it runs")
    notify_supervisor("READY=1");
    io_->run();
    return stop();
  }

 private:
  // Called with the registry's lock held: it only queues.
  void publish(const char* event, const TokenState& token) {
    events_.publish(std::make_shared<const std::string>(
        event_envelope(event, json_text({{"token", token_json(token)}}))));
    // An inserted token (at start-up: every token present) gets its interrupted work finished
    // and its certificates' expiry checked.
    if (std::string_view(event) == "tokenInserted") {
      reminders_.check(token.serial);
      asio::post(*io_, [this, serial = token.serial] {
        if (has_records(services_, serial))
          core_.reconcile(serial, [this, serial](CommandReply r) { reconciled(serial, r); });
      });
    }
  }

  // tokenReconciled: what the daemon finished or undid on the token, or why it could not. A
  // token that went away first says nothing: its next insertion tries again.
  void reconciled(std::uint32_t serial, const CommandReply& reply) {
    if (reply.error == ErrorCode::token_not_found || reply.error == ErrorCode::token_removed)
      return;
    nlohmann::json body =
        reply.body ? nlohmann::json::parse(*reply.body, nullptr, false) : nlohmann::json();
    nlohmann::json payload = {{"token", serial}};
    if (reply.error) {
      payload["error"] =
          body.contains("error") ? body["error"] : nlohmann::json(error_info(*reply.error).name);
      say("token " + std::to_string(serial) + ": interrupted work not finished (" +
          std::string(error_info(*reply.error).name) + "); tried again at its next insertion");
    } else {
      payload["reconciled"] = body.value("reconciled", nlohmann::json::array());
    }
    events_.publish(
        std::make_shared<const std::string>(event_envelope("tokenReconciled", json_text(payload))));
  }

  void start_listening(const std::string& socket_path) {
    listening_ =
        inherited_.any() ? adopt(net_, inherited_) : listen(net_, config_.port, socket_path);
    if (inherited_.any()) say("serving the sockets systemd passed");
    if (listening_.tcp.empty() && !listening_.unix_socket)
      throw std::runtime_error("nothing to listen on");
    if (listening_.tcp.empty()) return;
    if (!options_.port_file.empty()) write_port_file(options_.port_file, listening_.port);
    say("listening on 127.0.0.1:" + std::to_string(listening_.port));
    if (config_.allowed_origins.empty()) say("no web origin is allowed: HTTP refuses every page");
  }

  // Each token read moves the release on: it runs kQuietBeforeRelease after the last one.
  void release_pages_when_quiet() {
    page_release_.expires_after(kQuietBeforeRelease);
    page_release_.async_wait([](const boost::system::error_code& ec) {
      if (!ec) release_clean_file_pages();
    });
  }

  // SIGTERM: stop listening, end prompts, let running token work finish within the shutdown
  // deadline.
  void begin_stopping() {
    notify_supervisor("STOPPING=1");
    say("stopping");
    listening_.stop();
    shutdown_deadline_.expires_after(config_.shutdown_deadline);
    shutdown_deadline_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) io_->stop();
    });
    core_.begin_shutdown([this] { io_->stop(); });
  }

  // Says what became of each token command, then closes every connection and lets its
  // handlers run to their end before the io_context goes: destroying it with sessions still
  // waiting would free its reactor first (Asio).
  int stop() {
    for (const std::string& line : core_.shutdown_report()) say(line);
    if (!core_.idle()) {
      say("stopped with token work still running (above); its token keeps its own state");
      std::fflush(stderr);
      ::_exit(1);  // a thread is inside the module: no orderly teardown is possible
    }
    shutdown_deadline_.cancel();
    connections_.close_all();
    events_.close_all();
    listening_ = Listening{};
    io_->restart();
    io_->run_for(kDrainTime);
    reminders_.stop();
    tokens_.stop();
    if (!io_->stopped()) {
      // A peer that would not let go: its handlers are left to the process's end rather
      // than destroyed under the io_context.
      say("stopped (a connection did not close in time)");
      std::fflush(stderr);
      ::_exit(0);
    }
    say("stopped");
    return 0;
  }

  const Options& options_;
  const Config& config_;
  InheritedSockets inherited_;
  std::string state_dir_;
  StateDb db_;
  RenewalStore renewals_;
  SlotChangeStore slot_changes_;
  AuditLog audit_;
  ReminderStore reminder_store_;
  TrustStore trust_;
  RevocationChecker revocation_;
  CertificateChecker certificates_;
  certkey::pkcs11::Module module_;
  EventHub events_;
  ConnectionRegistry connections_;
  std::unique_ptr<asio::io_context> io_;
  TokenRegistry tokens_;
  ExpiryReminders reminders_;  // reads the registry's snapshot: goes before it
  PinPrompt prompt_;
  Services services_;
  CommandCore core_;
  NetContext net_;
  Listening listening_;
  asio::signal_set signals_;
  asio::steady_timer shutdown_deadline_;
  asio::steady_timer page_release_;
};

int serve(const Options& options, const Config& config) {
  const std::string socket_path = options.socket.value_or(certkey::ipc::default_socket_path());
  InheritedSockets inherited = inherited_sockets();
  // Socket-activated, the unix socket is systemd's, which queues connections for this
  // daemon: probing it would only reach the queue.
  if (!inherited.unix_socket && another_daemon_on(socket_path))
    throw std::runtime_error("another certkeyd is already running (" + socket_path + ")");
  Daemon daemon(options, config, std::move(inherited));
  return daemon.run(socket_path);
}

}  // namespace

int main(int argc, char** argv) {
  harden_process();
  Options options;
  try {
    options = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "certkeyd: %s\n%s", e.what(), usage_text().c_str());
    return 2;
  }
  if (options.help) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  if (options.version) {
    std::printf("certkeyd %s\n", CERTKEY_VERSION);
    return 0;
  }
  try {
    return serve(options, effective_config(options));
  } catch (const ConfigError& e) {
    say(e.what());
    return 2;
  } catch (const std::exception& e) {
    say(e.what());
    return 1;
  }
}
