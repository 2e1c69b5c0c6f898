// certkeyd's security model (DESIGN.md section 6): what a hostile web page, a hostile local
// program or a flood can send the daemon, and that each attempt fails safely: refused with its
// documented error, nothing run, nothing audited, no renewal begun, the tokens as they were,
// no PIN prompt shown. Each refusal has a positive control: the same request, sent properly,
// works (Security.ProperRequest_IsAnswered). Runs in tests/harness/with-tokens --media usbkey,sim.
// Nothing here waits on a clock: the events are replies, EOFs and process exits.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <sstream>

#include "daemon_harness.hpp"

namespace certkey::test {
namespace {

constexpr uid_t kNobody = 65534;

// --- raw sockets, for what the HTTP client cannot or should not send ----------------------

int connect_loopback(unsigned port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Everything the other end writes until it closes (EOF, or a reset after its last bytes).
std::string read_to_eof(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// An HTTP response as it came off the wire.
HttpResponse parse_response(const std::string& raw) {
  HttpResponse r;
  const std::size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12 || end == std::string::npos) return r;
  r.status = static_cast<unsigned>(std::stoul(raw.substr(9, 3)));
  std::istringstream head(raw.substr(0, end));
  std::string line;
  std::getline(head, line);  // the status line
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[name] = value;
  }
  r.body = raw.substr(end + 4);
  return r;
}

// A complete, proper GET /v1/tokens as a page on the portal sends it.
std::string good_get(unsigned port) {
  return "GET /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nOrigin: " + kPortal + "\r\nConnection: close\r\n\r\n";
}

// Runs `what` in a child process of user `uid` (and its group, no others) and returns what it
// returned, reported through a pipe; "child: ..." when it could not be done. The child's exit
// is the event the parent waits for.
std::string as_user(uid_t uid, const std::function<std::string()>& what) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return "parent: pipe";
  const pid_t pid = ::fork();
  if (pid < 0) return "parent: fork";
  if (pid == 0) {
    ::close(report[0]);
    std::string answer;
    if (::setgroups(0, nullptr) != 0 || ::setgid(uid) != 0 || ::setuid(uid) != 0 ||
        ::geteuid() != uid) {
      answer = "child: cannot become uid " + std::to_string(uid);
    } else {
      try {
        answer = what();
      } catch (const std::exception& e) {
        answer = std::string("child: ") + e.what();
      }
    }
    std::size_t done = 0;
    while (done < answer.size()) {
      const ssize_t n = ::write(report[1], answer.data() + done, answer.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(report[1]);
  const std::string answer = read_to_eof(report[0]);
  ::close(report[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return answer;
}

// Sends `request` on a loopback connection of its own and returns what the daemon answered.
std::string exchange(unsigned port, const std::string& request) {
  const int fd = connect_loopback(port);
  if (fd < 0) return "child: cannot connect";
  std::string answer = send_all(fd, request) ? read_to_eof(fd) : "child: cannot send";
  ::close(fd);
  return answer;
}

// The effective uid of a running process, from /proc.
std::optional<uid_t> euid_of(pid_t pid) {
  std::istringstream status(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) {
      std::istringstream ids(line.substr(4));
      unsigned real = 0, effective = 0;
      if (ids >> real >> effective) return static_cast<uid_t>(effective);
    }
  }
  return std::nullopt;
}

std::string joined(const std::vector<std::string>& rows) {
  std::string out;
  for (const std::string& r : rows) out += r + "\n";
  return out;
}

// --- the fixture ------------------------------------------------------------------------------

class Security : public ::testing::Test {
 protected:
  // The USB KEY gets a certificate in 01 before any daemon starts, so that every attack below
  // that asks for a renewal names one that a proper request would begin, and the daemon's first
  // view of the token is already the one the test compares against.
  void SetUp() override {
    const std::string serial = read_file(env("CERTKEY_SIM_STATE") + "/token1/serial");
    ASSERT_FALSE(serial.empty())
        << "no simulated token1 (run in tests/harness/with-tokens --media usbkey,sim)";
    serial_ = static_cast<std::uint32_t>(std::stoul(serial));
    provision_certificate(serial_, "security holder");
  }

  void start(DaemonOptions options = {}) {
    daemon_ = std::make_unique<Daemon>(std::move(options));
    tokens_before_ = list_tokens();
    ASSERT_EQ(serial_on(tokens_before_, "usbkey"), serial_) << tokens_before_.dump();
    ASSERT_NE(tokens_before_.dump().find("security holder"), std::string::npos)
        << tokens_before_.dump();
  }

  // The portal and kOtherSite allowed, kOtherSite in legacy mode (the PIN in the request); a
  // prompt, should one be shown, is cancelled.
  void start_with_legacy_origin() {
    DaemonOptions options;
    options.origins = {kPortal, kOtherSite};
    options.legacy_origins = {kOtherSite};
    options.answers = "cancel";
    start(options);
  }

  json list_tokens() const {
    const HttpResponse r = Http(daemon_->port).get("/v1/tokens");
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.body_json();
  }

  // A request that would begin a real renewal if the daemon ran it.
  json renewal_args() const { return {{"token", serial_}, {"certificate", "01"}}; }

  unsigned port() const { return daemon_->port; }

  // Refused with `status` and `code`, and the refusal tells the page nothing (no CORS header).
  static void expect_refused(const HttpResponse& r, unsigned status, const std::string& code,
                             const std::string& what, const std::string& readable_by = {}) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    EXPECT_EQ(r.error_code(), code) << what << ": " << r.body;
    if (readable_by.empty()) {
      EXPECT_EQ(r.headers.count("access-control-allow-origin"), 0u)
          << what << ": " << r.headers.at("access-control-allow-origin");
    } else {
      ASSERT_EQ(r.headers.count("access-control-allow-origin"), 1u) << what;
      EXPECT_EQ(r.headers.at("access-control-allow-origin"), readable_by) << what;
      // The refusal is all it reads: the error object, nothing of the tokens.
      EXPECT_EQ(nlohmann::json::parse(r.body).size(), 1u) << what << ": " << r.body;
    }
  }

  // The attack left no trace: nothing audited, no renewal, no prompt, the tokens as they were.
  void expect_untouched(const Daemon& d) const {
    EXPECT_TRUE(d.audit().empty()) << joined(d.audit());
    EXPECT_TRUE(d.renewals().empty()) << joined(d.renewals());
    EXPECT_EQ(d.prompts(), "");
    EXPECT_EQ(list_tokens(), tokens_before_);
  }
  void expect_untouched() const { expect_untouched(*daemon_); }

  std::unique_ptr<Daemon> daemon_;
  std::uint32_t serial_ = 0;
  json tokens_before_;
};

// --- the positive control ---------------------------------------------------------------------

// The requests the attacks below distort, sent properly through the same harness, work: the
// refusals are the daemon's, not the client's.
TEST_F(Security, ProperRequest_IsAnswered) {
  start();
  Http http(port());
  const HttpResponse list = http.get("/v1/tokens");
  EXPECT_EQ(list.status, 200u) << list.body;
  ASSERT_EQ(list.headers.count("access-control-allow-origin"), 1u);
  EXPECT_EQ(list.headers.at("access-control-allow-origin"), kPortal);
  EXPECT_EQ(list.body_json(), tokens_before_);
  const std::string raw = raw_exchange(port(), good_get(port()));
  EXPECT_EQ(parse_response(raw).status, 200u) << raw;
  const HttpResponse begun = http.post("/v1/renewals", renewal_args());
  EXPECT_EQ(begun.status, 201u) << begun.body;
  EXPECT_NE(daemon_->prompts().find("renew the certificate"), std::string::npos)
      << daemon_->prompts();
  EXPECT_EQ(daemon_->audit(), std::vector<std::string>{"beginRenewal " + std::string(kPortal) +
                                                       " ok " + std::to_string(serial_)});
  EXPECT_EQ(daemon_->renewals().size(), 1u);
}

// --- item 1: the Host header ------------------------------------------------------------------

TEST_F(Security, RebindingHost_IsRefused) {
  start();
  for (const std::string host :
       {"evil.example:" + std::to_string(port()), "127.0.0.1:" + std::to_string(port() + 1),
        std::string("127.0.0.1"), "localhost.evil.example:" + std::to_string(port())}) {
    Http http(port());
    expect_refused(http.request("GET", "/v1/tokens", {}, {{"Host", host}}), 403, "bad_host",
                   "GET Host " + host);
    expect_refused(http.request("POST", "/v1/renewals", renewal_args().dump(), {{"Host", host}}),
                   403, "bad_host", "POST Host " + host);
  }
  expect_untouched();
}

// --- item 2: the Origin ------------------------------------------------------------------------

TEST_F(Security, DisallowedOrigin_IsRefused_ReadablyOnlyForItsGet) {
  start();
  // "" sends no Origin at all. A well-formed origin may read that its GET was refused (how
  // the JS client tells "origin not allowed" from "not running"); nothing else is readable.
  const std::set<std::string> well_formed = {"https://evil.example", "https://portal.example:8443",
                                             "https://portal.example.evil.example"};
  for (const std::string origin :
       {"https://evil.example", "null", "", "http://portal.example", "https://portal.example:8443",
        "https://portal.example.evil.example", "https://portal.example/"}) {
    Http http(port(), origin);
    expect_refused(http.get("/v1/tokens"), 403, "origin_not_allowed", "GET Origin '" + origin + "'",
                   well_formed.count(origin) ? origin : std::string());
    expect_refused(http.post("/v1/renewals", renewal_args()), 403, "origin_not_allowed",
                   "POST Origin '" + origin + "'");
    // A preflight from it learns nothing either.
    expect_refused(
        http.request("OPTIONS", "/v1/renewals", {},
                     {{"Access-Control-Request-Method", "POST"},
                      {"Access-Control-Request-Headers", "content-type, x-certkey-request"},
                      {"Content-Type", ""},
                      {"X-Certkey-Request", ""}}),
        403, "origin_not_allowed", "OPTIONS Origin '" + origin + "'");
  }
  expect_untouched();
}

// --- item 3: what a form or a CORS-simple request can send --------------------------------------

TEST_F(Security, FormAndTextPosts_AreUnsupportedMediaType) {
  start();
  Http http(port());
  // What an HTML form or a CORS-simple fetch can send: no custom header, a simple type.
  expect_refused(http.request("POST", "/v1/renewals", renewal_args().dump(),
                              {{"Content-Type", "text/plain"}, {"X-Certkey-Request", ""}}),
                 415, "unsupported_media_type", "text/plain");
  expect_refused(
      http.request(
          "POST", "/v1/renewals", "token=" + std::to_string(serial_) + "&certificate=01",
          {{"Content-Type", "application/x-www-form-urlencoded"}, {"X-Certkey-Request", ""}}),
      415, "unsupported_media_type", "form");
  expect_refused(http.request("POST", "/v1/renewals", renewal_args().dump(),
                              {{"Content-Type", "multipart/form-data; boundary=x"},
                               {"X-Certkey-Request", ""}}),
                 415, "unsupported_media_type", "multipart");
  // The type alone is not enough either: JSON without the custom header.
  expect_refused(
      http.request("POST", "/v1/renewals", renewal_args().dump(), {{"X-Certkey-Request", ""}}), 403,
      "missing_request_header", "JSON POST without X-Certkey-Request");
  expect_untouched();
}

TEST_F(Security, DeleteAndPut_NeedTheHeader_ThenAreNotAllowed) {
  start();
  Http http(port());
  expect_refused(http.request("DELETE", "/v1/tokens", {}, {{"X-Certkey-Request", ""}}), 403,
                 "missing_request_header", "DELETE without X-Certkey-Request");
  expect_refused(
      http.request("PUT", "/v1/renewals", renewal_args().dump(), {{"X-Certkey-Request", ""}}), 403,
      "missing_request_header", "PUT without X-Certkey-Request");
  const HttpResponse del = http.request("DELETE", "/v1/tokens");
  EXPECT_EQ(del.status, 405u) << del.body;
  EXPECT_EQ(del.error_code(), "method_not_allowed");
  ASSERT_EQ(del.headers.count("allow"), 1u);
  EXPECT_NE(del.headers.at("allow").find("GET"), std::string::npos) << del.headers.at("allow");
  EXPECT_EQ(del.headers.at("allow").find("DELETE"), std::string::npos) << del.headers.at("allow");
  const HttpResponse put = http.request("PUT", "/v1/renewals", renewal_args().dump());
  EXPECT_EQ(put.status, 405u) << put.body;
  EXPECT_EQ(put.error_code(), "method_not_allowed");
  ASSERT_EQ(put.headers.count("allow"), 1u);
  EXPECT_NE(put.headers.at("allow").find("POST"), std::string::npos) << put.headers.at("allow");
  EXPECT_EQ(put.headers.at("allow").find("PUT"), std::string::npos) << put.headers.at("allow");
  expect_untouched();
}

// --- limits -------------------------------------------------------------------------------------

TEST_F(Security, OversizedBody_Is413) {
  start();
  json args = renewal_args();
  args["padding"] = std::string(64 * 1024, 'a');  // over 64 KiB as a whole
  const HttpResponse r = Http(port()).post("/v1/renewals", args);
  expect_refused(r, 413, "payload_too_large",
                 "a body of " + std::to_string(args.dump().size()) + " bytes");
  expect_untouched();
}

TEST_F(Security, OversizedHeaders_Are431) {
  start();
  const HttpResponse r =
      Http(port()).request("GET", "/v1/tokens", {}, {{"X-Padding", std::string(9 * 1024, 'a')}});
  expect_refused(r, 431, "headers_too_large", "a 9 KiB header");
  expect_untouched();
}

TEST_F(Security, OversizedPath_Is414) {
  start();
  const HttpResponse r = Http(port()).get("/v1/renewals/" + std::string(2100, 'a'));
  expect_refused(r, 414, "uri_too_long", "a 2 KiB path");
  expect_untouched();
}

// A sender that never finishes its headers is closed once the request timeout passes: the
// daemon's EOF is the event; then the daemon still answers.
TEST_F(Security, SlowHeaders_AreClosed_AndTheDaemonStillAnswers) {
  DaemonOptions options;
  options.request_timeout_seconds = 1;
  start(options);
  const int fd = connect_loopback(port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(send_all(
      fd, "GET /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) + "\r\n"));
  char byte = 0;
  EXPECT_EQ(::read(fd, &byte, 1), 0) << "the daemon answered a request it never got";
  ::close(fd);
  const HttpResponse r = Http(port()).get("/v1/tokens");
  EXPECT_EQ(r.status, 200u) << r.body;
  expect_untouched();
}

// 1,000 connections that never send anything, eight times the cap: the daemon makes room by
// closing the oldest idle ones, and a real request on a new connection is still answered.
TEST_F(Security, IdleConnectionFlood_DoesNotLockOutAProperRequest) {
  start();
  ASSERT_EQ(daemon_->options.max_connections, 128u);
  constexpr std::size_t kIdle = 1000;
  std::vector<int> idle;
  for (std::size_t i = 0; i < kIdle; ++i) {
    const int fd = connect_loopback(port());
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    idle.push_back(fd);
  }
  const HttpResponse r = Http(port()).get("/v1/tokens");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.body_json(), tokens_before_);
  // The oldest ones were let go (closed to make room, or at the latest by the request timeout).
  char byte = 0;
  for (std::size_t i = 0; i < kIdle - daemon_->options.max_connections; ++i) {
    ASSERT_EQ(::read(idle[i], &byte, 1), 0) << "idle connection " << i;
  }
  for (const int fd : idle) ::close(fd);
  expect_untouched();
}

// --- the WebSocket handshake passes the same guard ----------------------------------------------

TEST_F(Security, WebSocketFromDisallowedOrigin_IsRefused) {
  start();
  for (const std::string origin : {"https://evil.example", "null", "http://portal.example"}) {
    EXPECT_THROW(WsClient(port(), origin), std::exception) << origin;
  }
  WsClient ws(port(), kPortal);
  const json reply = ws.call("listTokens");
  EXPECT_EQ(reply["status"], 200) << reply.dump();
  EXPECT_EQ(reply["result"], tokens_before_);
  expect_untouched();
}

// --- item 4: PINs are asked for by certkey, not sent by pages -----------------------------------

TEST_F(Security, PinInBody_IsNotAccepted) {
  start();
  json args = renewal_args();
  args["pin"] = "123456";
  const HttpResponse r = Http(port()).post("/v1/renewals", args);
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_EQ(r.error_code(), "pin_not_accepted");
  expect_untouched();
}

// Legacy mode is per origin: the portal still may not send a PIN; the legacy origin's PIN is
// used as sent, without a prompt (the scripted pinentry would cancel), and audited as its own.
TEST_F(Security, LegacyPinMode_IsForItsOriginOnly) {
  start_with_legacy_origin();
  json args = renewal_args();
  args["pin"] = "123456";
  const HttpResponse portal = Http(port(), kPortal).post("/v1/renewals", args);
  EXPECT_EQ(portal.status, 403u) << portal.body;
  EXPECT_EQ(portal.error_code(), "pin_not_accepted");
  expect_untouched();

  const HttpResponse legacy = Http(port(), kOtherSite).post("/v1/renewals", args);
  EXPECT_EQ(legacy.status, 201u) << legacy.body;
  EXPECT_EQ(daemon_->prompts(), "") << "a prompt was shown although the page sent the PIN";
  EXPECT_EQ(daemon_->audit(), std::vector<std::string>{"beginRenewal " + std::string(kOtherSite) +
                                                       " ok " + std::to_string(serial_)});
  const std::vector<std::string> renewals = daemon_->renewals();
  ASSERT_EQ(renewals.size(), 1u);
  EXPECT_NE(renewals[0].find(" " + std::string(kOtherSite)), std::string::npos) << renewals[0];
}

// A legacy origin's PIN goes only to commands that log in with it. The unblock and the remote
// unlock ask for a PUK or a new PIN, never the PIN: a `pin` sent to them is refused, not
// dropped, so the page learns at once that the prompt will ask.
TEST_F(Security, LegacyPin_ToACommandThatAsksForNoPin_IsRefused) {
  start_with_legacy_origin();
  const std::vector<std::pair<std::string, json>> requests = {
      {"/v1/pin/unblock", {{"token", serial_}, {"pin", "123456"}}},
      {"/v1/pin/remote-unlock", {{"token", serial_}, {"pin", "123456"}}},
      {"/v1/pin/remote-unlock/response",
       {{"token", serial_}, {"response", "22222-22222-22222-22222"}, {"pin", "123456"}}}};
  for (const auto& [target, body] : requests) {
    const HttpResponse r = Http(port(), kOtherSite).post(target, body);
    EXPECT_EQ(r.status, 400u) << target << ": " << r.body;
    EXPECT_EQ(r.error_code(), "bad_request") << target << ": " << r.body;
    EXPECT_NE(r.body.find("asks for no PIN"), std::string::npos) << r.body;
  }
  EXPECT_EQ(daemon_->prompts(), "") << "nothing was asked";
  expect_untouched();
}

// --- item 1: local peers of another user
// ----------------------------------------------------------

TEST_F(Security, LoopbackPeerOfAnotherUser_IsRefused) {
  start();
  ASSERT_EQ(::geteuid(), 0u) << "needs root to act as another user";
  const std::string raw = as_user(kNobody, [&] { return exchange(port(), good_get(port())); });
  ASSERT_EQ(raw.rfind("child:", 0), std::string::npos) << raw;
  EXPECT_EQ(raw.substr(0, raw.find("\r\n")), "HTTP/1.1 403 Forbidden") << raw;
  expect_refused(parse_response(raw), 403, "foreign_user", "GET from uid 65534");
  expect_untouched();
}

TEST_F(Security, UnixSocketPeerOfAnotherUser_IsRefused) {
  start();
  DaemonOptions options;
  options.run_as = kNobody;
  std::unique_ptr<Daemon> nobody;
  try {
    nobody = std::make_unique<Daemon>(options);
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  EXPECT_EQ(euid_of(nobody->pid()), std::optional<uid_t>(kNobody))
      << "the second daemon does not run as nobody";
  // Its own user is served (the control: the refusal below is about the uid).
  const std::string own =
      as_user(kNobody, [&] { return UnixClient(nobody->socket_path).call("listTokens").dump(); });
  const json own_reply = json::parse(own, nullptr, false);
  EXPECT_EQ(own_reply["status"], 200) << own << "\n" << nobody->log();
  // Root is another user than the daemon's: the socket's permissions let it connect, the
  // daemon's own check does not let it in.
  UnixClient root(nobody->socket_path);
  const std::string frame = root.read_frame();
  ASSERT_FALSE(frame.empty()) << "closed without a reply";
  const json reply = json::parse(frame, nullptr, false);
  EXPECT_EQ(reply["status"], 403) << frame;
  EXPECT_EQ(reply["error"]["code"], "foreign_user") << frame;
  EXPECT_TRUE(reply["id"].is_null()) << frame;
  EXPECT_EQ(root.read_frame(), "") << "the connection stays open after the refusal";
  EXPECT_TRUE(nobody->audit().empty()) << joined(nobody->audit());
  EXPECT_TRUE(nobody->renewals().empty()) << joined(nobody->renewals());
  expect_untouched();
}

// --- rate limits ---------------------------------------------------------------------------------

TEST_F(Security, OriginOverItsRateLimit_Is429) {
  DaemonOptions options;
  options.state_changes_per_minute = 2;
  start(options);
  for (const json& token : tokens_before_["tokens"])
    ASSERT_NE(token["serial"], 1) << "serial 1 is plugged in";
  Http http(port());
  const json absent = {{"token", 1}, {"certificate", "01"}};
  for (int i = 0; i < 2; ++i) {
    const HttpResponse r = http.post("/v1/renewals", absent);
    EXPECT_EQ(r.status, 404u) << i << ": " << r.body;
    EXPECT_EQ(r.error_code(), "token_not_found") << i;
  }
  const HttpResponse limited = http.post("/v1/renewals", absent);
  EXPECT_EQ(limited.status, 429u) << limited.body;
  EXPECT_EQ(limited.error_code(), "rate_limited");
  ASSERT_EQ(limited.headers.count("retry-after"), 1u);
  EXPECT_EQ(limited.headers.at("retry-after"), "30");
  // Reads are not limited.
  EXPECT_EQ(http.get("/v1/tokens").status, 200u);
  expect_untouched();
}

}  // namespace
}  // namespace certkey::test
