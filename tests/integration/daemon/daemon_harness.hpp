// What certkeyd's integration tests (daemon_*_test.cpp) drive: the daemon as a process with a
// configuration of the test's choosing, and its four transports as clients (HTTP and
// WebSocket with Boost.Beast, the unix socket, the native-messaging relay binary). Runs
// inside tests/harness/with-tokens: pcscd and the simulated tokens are already there.
// Nothing here waits on a clock: readiness comes from the daemon's sd_notify message, replies
// and events from the sockets.
#pragma once
#include <sys/types.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace certkey::test {

using nlohmann::json;

inline constexpr char kPortal[] = "https://portal.example";
inline constexpr char kOtherSite[] = "https://other.example";

std::string env(const char* name);
std::string build_dir();
// `text` as one shell word.
std::string quoted(const std::string& text);
std::string source_dir();
// A shell command; peer tools get the sanitizer runtime they need to load our module.
int shell(const std::string& command);
std::string shell_output(const std::string& command);
// certkey-sim ctl ARGS
std::string sim(const std::string& args);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);
std::string temp_dir();

struct DaemonOptions {
  std::vector<std::string> origins = {kPortal};
  std::vector<std::string> legacy_origins;
  std::string answers =
      "pin:123456";  // rules for the scripted pinentry (tests/harness/scripted-pinentry)
  unsigned pin_timeout_seconds = 60;
  unsigned request_timeout_seconds = 10;
  unsigned state_changes_per_minute = 60;
  unsigned max_connections = 128;
  unsigned operation_seconds = 120;
  unsigned shutdown_seconds = 10;
  std::string state_dir;                   // default: a fresh directory
  std::string shown_fifo;                  // SCRIPTED_PINENTRY_SHOWN for the prompts
  std::optional<uid_t> run_as;             // start it as this user (with its own directories)
  std::vector<std::string> trust_anchors;  // [trust] anchors, PEM files
  std::vector<std::string> intermediates;
  unsigned superseded_days = 0;  // [retention] superseded_days
  std::string fault_point;       // CERTKEY_FAULT_POINT: it exits (status 86) at that step
  std::string fault_action;      // CERTKEY_FAULT_ACTION ("pause:DIR"); default: exit
  std::string session_bus;  // DBUS_SESSION_BUS_ADDRESS; default: none, so no desktop is notified
  std::string language = "C.UTF-8";  // LANG
};

class Daemon {
 public:
  enum class Start { now, later };
  // Starts certkeyd and returns once it is ready (its sd_notify READY=1). `later`: only
  // prepares its directories and configuration (run_until_exit).
  explicit Daemon(DaemonOptions options = {}, Start start = Start::now);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // SIGTERM, then waits for the exit. Returns the exit status; `elapsed` how long it took.
  int terminate(std::chrono::milliseconds* elapsed = nullptr);
  // Waits for the daemon to exit on its own (a fault point); returns the exit status.
  int wait_exit();
  // SIGKILL, as a crash would end it.
  void kill();
  bool running() const { return pid_ > 0; }
  void set_answers(const std::string& rules) { write_file(answers_path, rules + "\n"); }
  std::string log() const { return read_file(log_path); }
  std::string prompts() const { return read_file(pinentry_log); }
  // The audit log's rows, oldest first: "command origin result token".
  std::vector<std::string> audit() const;
  // The renewals in the state database, oldest first: "id serial certificate origin".
  std::vector<std::string> renewals() const;
  // The same as "id state certificate key".
  std::vector<std::string> renewal_states() const;
  // The slot changes (change, revoke) not yet finished: "serial slot kind".
  std::vector<std::string> slot_changes() const;

  DaemonOptions options;
  unsigned port = 0;
  std::string dir, state_dir, socket_path, runtime_dir, log_path, pinentry_log, answers_path,
      config_path;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// Starts certkeyd with `options` and `extra_args` and expects it to exit on its own (it
// refuses to start); returns the exit status and what it printed.
struct Exited {
  int status = 0;
  std::string output;
};
Exited run_until_exit(const DaemonOptions& options,
                      const std::vector<std::string>& extra_args = {});

struct HttpResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  json body_json() const { return json::parse(body, nullptr, false); }
  std::string error_code() const;
};

// One keep-alive HTTP connection to the daemon, as a page on `origin` sends requests.
class Http {
 public:
  explicit Http(unsigned port, std::string origin = kPortal);
  ~Http();
  // Host, Origin, and for other methods than GET also Content-Type: application/json and
  // X-Certkey-Request: 1, unless `headers` sets them ("" removes one).
  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = {},
                       std::map<std::string, std::string> headers = {});
  HttpResponse get(const std::string& target) { return request("GET", target); }
  HttpResponse post(const std::string& target, const json& body) {
    return request("POST", target, body.dump());
  }

 private:
  struct Impl;
  Impl* impl_;
  unsigned port_;
  std::string origin_;
};

// Sends `bytes` on a new connection and returns everything the daemon writes until it closes.
std::string raw_exchange(unsigned port, const std::string& bytes);

class WsClient {
 public:
  // Throws on a refused handshake.
  WsClient(unsigned port, const std::string& origin = kPortal);
  ~WsClient();
  // Sends a command and returns its reply; events that arrive first are kept for next_event.
  json call(const std::string& command, const json& args = json::object());
  json next_event();

 private:
  struct Impl;
  Impl* impl_;
};

class UnixClient {
 public:
  explicit UnixClient(const std::string& path);
  ~UnixClient();
  void send_frame(const std::string& payload);
  std::string read_frame();  // "" once the daemon closed the connection
  json call(const std::string& command, const json& args = json::object(),
            const json& extra = json::object());
  json next_event();

 private:
  int fd_;
  int next_id_ = 1;
  std::vector<json> events_;
};

// certkey-native-host as the browser runs it: frames on its standard input and output.
class Relay {
 public:
  Relay(const std::string& runtime_dir,
        const std::string& extension = "chrome-extension://certkeytest/");
  ~Relay();
  void send(const json& message);
  void send_bytes(const std::string& bytes);
  json receive();  // null once the relay closed its output
  int close_and_wait();

 private:
  pid_t pid_ = -1;
  int to_relay_ = -1, from_relay_ = -1;
};

// The body conforms to the OpenAPI description (tests/harness/openapi-check).
::testing::AssertionResult conforms(const std::string& path_template, const std::string& method,
                                    unsigned status, const json& body);
::testing::AssertionResult conforms_to_schema(const std::string& schema, const json& body);

// A test CA on the openssl command line: a root, and an issuing CA under it that signs with
// `openssl ca`, whose database lets a test revoke certificates, publish a CRL and run
// `openssl ocsp` as a responder.
class TestCa {
 public:
  explicit TestCa(const std::string& name = "certkey test");
  struct Options {
    std::string subject;     // overrides the request's ("/CN=other")
    std::string start, end;  // YYYYMMDDHHMMSSZ; default: now, for 60 days
    std::string ocsp_url;    // authorityInfoAccess OCSP
    std::string crl_url;     // crlDistributionPoints
  };
  std::string issue(const std::string& csr_pem, const Options& options) const;  // PEM
  std::string issue(const std::string& csr_pem) const { return issue(csr_pem, Options{}); }
  void revoke(const std::string& certificate_pem) const;
  std::string crl_der() const;  // a fresh CRL, DER
  std::string root_path() const { return dir + "/root.pem"; }
  std::string issuing_path() const { return dir + "/issuing.pem"; }
  std::string chain_pem() const { return read_file(issuing_path()); }
  std::string dir;
};

// The serial of the token on `medium` in a listTokens result.
std::uint32_t serial_on(const json& token_list, const std::string& medium);
// Makes a key pair in slot `id` (01 = PIV 9A) of the token with `serial` (pkcs11-tool through
// certkey's module), has `ca` issue a certificate for subject CN=`name` from a request the
// token signs (openssl req through libp11's engine), and writes it beside the key. `key_type`
// as pkcs11-tool names it. Returns the certificate (PEM).
std::string provision_certificate(std::uint32_t serial, const std::string& name, const TestCa& ca,
                                  const TestCa::Options& options = {}, const std::string& id = "01",
                                  const std::string& key_type = "EC:prime256v1");
// The same, from a CA of its own (a test that does not care who issued it).
std::string provision_certificate(std::uint32_t serial, const std::string& name);

// certkey, the desk user's command, run to its end with LANG=`lang` (no other locale
// variable), certkeyd's socket under `runtime_dir`, and `input` on its standard input.
struct CliRun {
  int status = -1;
  std::string out, err;
};
CliRun run_certkey(const std::string& runtime_dir, const std::string& args,
                   const std::string& lang = "C.UTF-8", const std::string& input = "");

}  // namespace certkey::test
