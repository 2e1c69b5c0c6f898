#include "daemon_harness.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include "ipc/frame_codec.hpp"

namespace certkey::test {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string build_dir() { return env("CERTKEY_BUILD"); }

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
std::string source_dir() { return CERTKEY_SOURCE_DIR; }

namespace {

// Peer tools (pkcs11-tool, openssl) load the instrumented module: the sanitizer's runtime
// goes first. Under ThreadSanitizer they only set up what the test needs, so their reports are
// off; certkeyd, which the thread job checks, is started without this.
std::string preload_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return "export LD_PRELOAD=\"$(gcc -print-file-name=libasan.so) $(gcc "
         "-print-file-name=libstdc++.so)\" "
         "ASAN_OPTIONS=detect_leaks=0 && ";
#elif defined(__SANITIZE_THREAD__)
  return "export LD_PRELOAD=\"$(gcc -print-file-name=libtsan.so) $(gcc "
         "-print-file-name=libstdc++.so)\" "
         "TSAN_OPTIONS=report_bugs=0 && ";
#else
  return "";
#endif
}

std::string toml_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", \"" : "\"") + items[i] + "\"";
  return out + "]";
}

void write_config(const Daemon& d) {
  const DaemonOptions& o = d.options;
  std::ostringstream c;
  c << "port = 0\nallowed_origins = " << toml_list(o.origins) << "\n"
    << "[pin]\nprogram = \"" << source_dir() << "/tests/harness/scripted-pinentry\"\n"
    << "timeout_seconds = " << o.pin_timeout_seconds
    << "\nlegacy_origins = " << toml_list(o.legacy_origins) << "\n"
    << "[limits]\nrequest_timeout_seconds = " << o.request_timeout_seconds
    << "\nstate_changes_per_minute = " << o.state_changes_per_minute
    << "\nmax_connections = " << o.max_connections
    << "\n[deadlines]\noperation_seconds = " << o.operation_seconds
    << "\nshutdown_seconds = " << o.shutdown_seconds
    << "\n[trust]\nanchors = " << toml_list(o.trust_anchors)
    << "\nintermediates = " << toml_list(o.intermediates)
    << "\n[retention]\nsuperseded_days = " << o.superseded_days << "\n";
  write_file(d.config_path, c.str());
}

// A datagram socket for the daemon's sd_notify messages: READY=1 is the event to wait for.
int notify_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("notify socket");
  return fd;
}

// Execs certkeyd in the child; `notify` is where it reports.
pid_t spawn_daemon(const Daemon& d, const std::string& notify,
                   const std::vector<std::string>& extra) {
  std::vector<std::string> args = {build_dir() + "/daemon/certkeyd",
                                   "--config",
                                   d.config_path,
                                   "--state-dir",
                                   d.state_dir,
                                   "--module",
                                   build_dir() + "/pkcs11-module/src/libcertkey-pkcs11.so",
                                   "--socket",
                                   d.socket_path,
                                   "--port-file",
                                   d.dir + "/port"};
  args.insert(args.end(), extra.begin(), extra.end());
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  const int log = ::open(d.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  ::dup2(log, STDERR_FILENO);
  ::dup2(log, STDOUT_FILENO);
  ::setenv("NOTIFY_SOCKET", notify.c_str(), 1);
  ::setenv("XDG_RUNTIME_DIR", d.runtime_dir.c_str(), 1);
  ::setenv("SCRIPTED_PINENTRY_ANSWERS", d.answers_path.c_str(), 1);
  ::setenv("SCRIPTED_PINENTRY_LOG", d.pinentry_log.c_str(), 1);
  if (!d.options.shown_fifo.empty())
    ::setenv("SCRIPTED_PINENTRY_SHOWN", d.options.shown_fifo.c_str(), 1);
  if (!d.options.fault_point.empty())
    ::setenv("CERTKEY_FAULT_POINT", d.options.fault_point.c_str(), 1);
  if (!d.options.fault_action.empty())
    ::setenv("CERTKEY_FAULT_ACTION", d.options.fault_action.c_str(), 1);
  if (d.options.session_bus.empty())
    ::unsetenv("DBUS_SESSION_BUS_ADDRESS");
  else
    ::setenv("DBUS_SESSION_BUS_ADDRESS", d.options.session_bus.c_str(), 1);
  for (const char* name : {"LANGUAGE", "LC_ALL", "LC_MESSAGES"}) ::unsetenv(name);
  ::setenv("LANG", d.options.language.c_str(), 1);
  if (d.options.run_as) {
    ::setgroups(0, nullptr);
    if (::setgid(*d.options.run_as) != 0 || ::setuid(*d.options.run_as) != 0) ::_exit(126);
  }
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

void prepare(Daemon& d) {
  d.dir = temp_dir();
  d.state_dir = d.options.state_dir.empty() ? d.dir + "/state" : d.options.state_dir;
  d.runtime_dir = d.dir + "/run";
  d.socket_path = d.runtime_dir + "/certkey/certkeyd.sock";
  d.log_path = d.dir + "/certkeyd.log";
  d.pinentry_log = d.dir + "/pinentry.log";
  d.answers_path = d.dir + "/answers";
  d.config_path = d.dir + "/certkeyd.toml";
  ::mkdir(d.runtime_dir.c_str(), 0700);
  write_config(d);
  d.set_answers(d.options.answers);
  if (d.options.run_as) {
    // Its own directories, owned by that user; everything else it needs is world-readable.
    // The test's directory is the user's too: the daemon writes its port file there (a
    // temporary file renamed into place), and the pinentry it starts writes its log there.
    ::chmod(d.dir.c_str(), 0755);
    shell("mkdir -p " + d.state_dir + " && chown -R " + std::to_string(*d.options.run_as) + " " +
          d.state_dir + " " + d.runtime_dir + " && chown " + std::to_string(*d.options.run_as) +
          " " + d.dir);
  }
}

}  // namespace

int shell(const std::string& command) {
  const int status = std::system((preload_sanitizer() + command).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string shell_output(const std::string& command) {
  std::string out;
  if (FILE* p = ::popen((preload_sanitizer() + command).c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

std::string sim(const std::string& args) {
  return shell_output(build_dir() + "/agent/sim/certkey-sim ctl --control " +
                      env("CERTKEY_SIM_CONTROL") + " " + args);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string temp_dir() {
  char pattern[] = "/tmp/certkeyd-test.XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  if (!dir) throw std::runtime_error("mkdtemp");
  return dir;
}

Daemon::Daemon(DaemonOptions o, Start start) : options(std::move(o)) {
  prepare(*this);
  if (start == Start::later) return;
  const std::string notify_path = dir + "/notify";
  const int notify = notify_socket(notify_path);
  if (options.run_as) ::chmod(notify_path.c_str(), 0777);
  pid_ = spawn_daemon(*this, notify_path, {});
  // READY=1, or the daemon's exit (its log says why): whichever comes first.
  const int exited = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  char message[256] = {};
  for (;;) {
    pollfd fds[2] = {{notify, POLLIN, 0}, {exited, POLLIN, 0}};
    ::poll(fds, 2, -1);
    if (fds[0].revents) {
      const ssize_t n = ::recv(notify, message, sizeof message - 1, 0);
      if (n > 0 && std::strstr(message, "READY=1")) break;
    } else if (fds[1].revents) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      ::close(notify);
      ::close(exited);
      // 126: it could not become options.run_as; 127: it could not be executed.
      const std::string how = WIFEXITED(status)
                                  ? "exit status " + std::to_string(WEXITSTATUS(status))
                                  : "signal " + std::to_string(WTERMSIG(status));
      throw std::runtime_error("certkeyd did not start (" + how + "):\n" + log());
    }
  }
  ::close(notify);
  ::close(exited);
  port = static_cast<unsigned>(std::stoul(read_file(dir + "/port")));
}

Daemon::~Daemon() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

int Daemon::terminate(std::chrono::milliseconds* elapsed) {
  const auto start = std::chrono::steady_clock::now();
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (elapsed) {
    *elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int Daemon::wait_exit() {
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void Daemon::kill() {
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

namespace {

// The rows of a query on the state database, each row's columns joined by spaces.
std::vector<std::string> state_rows(const std::string& state_dir, const char* query, int columns) {
  std::vector<std::string> rows;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((state_dir + "/certkeyd.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) !=
      SQLITE_OK) {
    sqlite3_close(db);
    return rows;
  }
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, query, -1, &s, nullptr);
  while (s && sqlite3_step(s) == SQLITE_ROW) {
    std::string row;
    for (int c = 0; c < columns; ++c) {
      const auto* text = sqlite3_column_text(s, c);
      row += (c ? " " : "") + std::string(text ? reinterpret_cast<const char*>(text) : "");
    }
    rows.push_back(row);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return rows;
}

}  // namespace

std::vector<std::string> Daemon::audit() const {
  return state_rows(
      state_dir, "SELECT command, origin, result, coalesce(token, '') FROM audit ORDER BY id", 4);
}

std::vector<std::string> Daemon::renewals() const {
  return state_rows(state_dir,
                    "SELECT id, serial, certificate_id, origin FROM renewals ORDER BY rowid", 4);
}

std::vector<std::string> Daemon::renewal_states() const {
  return state_rows(state_dir,
                    "SELECT id, state, certificate_id, key_id FROM renewals ORDER BY rowid", 4);
}

std::vector<std::string> Daemon::slot_changes() const {
  return state_rows(state_dir, "SELECT serial, slot, kind FROM slot_changes", 3);
}

Exited run_until_exit(const DaemonOptions& options, const std::vector<std::string>& extra_args) {
  Daemon d(options, Daemon::Start::later);
  const pid_t pid = spawn_daemon(d, d.dir + "/notify.unused", extra_args);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), d.log()};
}

std::string HttpResponse::error_code() const {
  const json j = body_json();
  return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
}

struct Http::Impl {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool connected = false;
};

Http::Http(unsigned port, std::string origin)
    : impl_(new Impl), port_(port), origin_(std::move(origin)) {}
Http::~Http() { delete impl_; }

HttpResponse Http::request(const std::string& method, const std::string& target,
                           const std::string& body, std::map<std::string, std::string> headers) {
  if (!impl_->connected) {
    impl_->stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                                  static_cast<unsigned short>(port_)));
    impl_->connected = true;
  }
  http::request<http::string_body> r{http::string_to_verb(method), target, 11};
  std::map<std::string, std::string> all = {{"Host", "127.0.0.1:" + std::to_string(port_)},
                                            {"Origin", origin_}};
  if (method != "GET") {
    all["Content-Type"] = "application/json";
    all["X-Certkey-Request"] = "1";
  }
  for (auto& [k, v] : headers) all[k] = v;
  for (auto& [k, v] : all) {
    if (!v.empty()) r.set(k, v);
  }
  r.body() = body;
  r.prepare_payload();
  http::write(impl_->stream, r);
  http::response<http::string_body> answer;
  beast::error_code ec;
  http::read(impl_->stream, impl_->buffer, answer, ec);
  if (ec) throw std::runtime_error("HTTP read: " + ec.message());
  if (!answer.keep_alive()) {
    impl_->stream.socket().close(ec);
    impl_->connected = false;
    impl_->buffer.clear();
  }
  HttpResponse out;
  out.status = answer.result_int();
  for (const auto& field : answer) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = answer.body();
  return out;
}

std::string raw_exchange(unsigned port, const std::string& bytes) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                    static_cast<unsigned short>(port)));
  asio::write(s, asio::buffer(bytes));
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  for (;;) {
    const std::size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

struct WsClient::Impl {
  asio::io_context io;
  websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;
  std::deque<json> events;
  int next_id = 1;
  json read() {
    buffer.clear();
    ws.read(buffer);
    return json::parse(beast::buffers_to_string(buffer.data()));
  }
};

WsClient::WsClient(unsigned port, const std::string& origin) : impl_(new Impl) {
  try {
    beast::get_lowest_layer(impl_->ws).connect(asio::ip::tcp::endpoint(
        asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    impl_->ws.set_option(websocket::stream_base::decorator(
        [origin](websocket::request_type& r) { r.set(http::field::origin, origin); }));
    impl_->ws.handshake("127.0.0.1:" + std::to_string(port), "/v1/events");
  } catch (...) {
    delete impl_;
    throw;
  }
}

WsClient::~WsClient() {
  beast::error_code ec;
  impl_->ws.close(websocket::close_code::normal, ec);
  delete impl_;
}

json WsClient::call(const std::string& command, const json& args) {
  const int id = impl_->next_id++;
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(json{{"id", id}, {"command", command}, {"args", args}}.dump()));
  for (;;) {
    json message = impl_->read();
    if (message.contains("event")) {
      impl_->events.push_back(std::move(message));
    } else if (message.value("id", json()) == id) {
      return message;
    }
  }
}

json WsClient::next_event() {
  if (!impl_->events.empty()) {
    json e = impl_->events.front();
    impl_->events.pop_front();
    return e;
  }
  for (;;) {
    json message = impl_->read();
    if (message.contains("event")) return message;
  }
}

UnixClient::UnixClient(const std::string& path)
    : fd_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    throw std::runtime_error("cannot connect to " + path + ": " + std::strerror(errno));
  }
}

UnixClient::~UnixClient() { ::close(fd_); }

void UnixClient::send_frame(const std::string& payload) {
  const std::string frame = ipc::encode_frame(payload);
  ASSERT_EQ(::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(frame.size()));
}

std::string UnixClient::read_frame() {
  auto read_exactly = [&](char* out, std::size_t n) {
    std::size_t done = 0;
    while (done < n) {
      const ssize_t r = ::read(fd_, out + done, n - done);
      if (r <= 0) return false;
      done += static_cast<std::size_t>(r);
    }
    return true;
  };
  std::uint32_t length = 0;
  if (!read_exactly(reinterpret_cast<char*>(&length), 4)) return {};
  std::string payload(length, '\0');
  if (!read_exactly(payload.data(), length)) return {};
  return payload;
}

json UnixClient::call(const std::string& command, const json& args, const json& extra) {
  const int id = next_id_++;
  json message = {{"id", id}, {"command", command}, {"args", args}};
  message.update(extra);
  send_frame(message.dump());
  for (;;) {
    const std::string frame = read_frame();
    if (frame.empty()) return nullptr;
    json reply = json::parse(frame);
    if (reply.contains("event")) {
      events_.push_back(std::move(reply));
    } else if (reply.value("id", json()) == id || reply["id"].is_null()) {
      return reply;
    }
  }
}

json UnixClient::next_event() {
  if (!events_.empty()) {
    json e = events_.front();
    events_.erase(events_.begin());
    return e;
  }
  for (;;) {
    const std::string frame = read_frame();
    if (frame.empty()) return nullptr;
    json message = json::parse(frame);
    if (message.contains("event")) return message;
  }
}

Relay::Relay(const std::string& runtime_dir, const std::string& extension) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::setenv("XDG_RUNTIME_DIR", runtime_dir.c_str(), 1);
    const std::string program = build_dir() + "/web-extension/native-host/certkey-native-host";
    ::execl(program.c_str(), program.c_str(), extension.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  to_relay_ = in[1];
  from_relay_ = out[0];
}

Relay::~Relay() {
  if (to_relay_ >= 0) ::close(to_relay_);
  if (from_relay_ >= 0) ::close(from_relay_);
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void Relay::send_bytes(const std::string& bytes) {
  ASSERT_EQ(::write(to_relay_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

void Relay::send(const json& message) { send_bytes(ipc::encode_frame(message.dump())); }

json Relay::receive() {
  std::uint32_t length = 0;
  std::size_t done = 0;
  while (done < 4) {
    const ssize_t n = ::read(from_relay_, reinterpret_cast<char*>(&length) + done, 4 - done);
    if (n <= 0) return nullptr;
    done += static_cast<std::size_t>(n);
  }
  std::string payload(length, '\0');
  done = 0;
  while (done < length) {
    const ssize_t n = ::read(from_relay_, payload.data() + done, length - done);
    if (n <= 0) return nullptr;
    done += static_cast<std::size_t>(n);
  }
  return json::parse(payload);
}

int Relay::close_and_wait() {
  ::close(to_relay_);
  to_relay_ = -1;
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

::testing::AssertionResult conforms(const std::string& path_template, const std::string& method,
                                    unsigned status, const json& body) {
  const std::string file = temp_dir() + "/body.json";
  write_file(file, body.dump());
  const std::string output =
      shell_output(build_dir() + "/tests/harness/openapi-check " + source_dir() +
                   "/daemon/openapi/certkey-v1.json " + quoted(path_template) + " " + method + " " +
                   std::to_string(status) + " " + file + " 2>&1; echo rc=$?");
  if (output.find("rc=0") != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << method << " " << path_template << " " << status << ": "
                                       << output << "\nbody: " << body.dump();
}

::testing::AssertionResult conforms_to_schema(const std::string& schema, const json& body) {
  return conforms("#/components/schemas/" + schema, "-", 0, body);
}

TestCa::TestCa(const std::string& name) : dir(temp_dir()) {
  write_file(
      dir + "/ca.cnf",
      "[ca]\ndefault_ca = issuing\n"
      "[issuing]\ndir = " +
          dir +
          "\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/issued\n"
          "serial = $dir/serial\ncrlnumber = $dir/crlnumber\ncertificate = $dir/issuing.pem\n"
          "private_key = $dir/issuing.key\ndefault_md = sha256\ndefault_days = "
          "60\ndefault_crl_days = 7\n"
          "policy = any\nunique_subject = no\ncopy_extensions = none\n"
          "[any]\ncommonName = supplied\n"
          "[ca_extensions]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = "
          "critical,keyCertSign,cRLSign,digitalSignature\n"
          "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n");
  const int rc = shell(
      "cd " + dir +
      " && mkdir issued && touch index.txt && echo 1000 > serial && echo 01 > crlnumber && "
      "openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key "
      "-subj " +
      quoted("/CN=" + name + " root CA") +
      " -days 3650 -out root.pem "
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign "
      "2>/dev/null && "
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout issuing.key "
      "-subj " +
      quoted("/CN=" + name + " issuing CA") +
      " -out issuing.csr 2>/dev/null && "
      "openssl x509 -req -in issuing.csr -CA root.pem -CAkey root.key -set_serial 2 -days 3650 "
      "-extfile ca.cnf -extensions ca_extensions -out issuing.pem 2>/dev/null");
  if (rc != 0) throw std::runtime_error("the test CA could not be made in " + dir);
}

std::string TestCa::issue(const std::string& csr_pem, const Options& o) const {
  static int counter = 0;
  const std::string n = std::to_string(++counter);
  std::string extensions =
      "[leaf]\nbasicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
      "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
  if (!o.ocsp_url.empty()) extensions += "authorityInfoAccess = OCSP;URI:" + o.ocsp_url + "\n";
  if (!o.crl_url.empty()) extensions += "crlDistributionPoints = URI:" + o.crl_url + "\n";
  write_file(dir + "/leaf" + n + ".cnf", extensions);
  write_file(dir + "/request" + n + ".csr", csr_pem);
  std::string command = "cd " + dir +
                        " && openssl ca -batch -config ca.cnf -preserveDN -notext -in request" + n +
                        ".csr -extfile leaf" + n + ".cnf -extensions leaf -out leaf" + n + ".pem";
  if (!o.subject.empty()) command += " -subj " + quoted(o.subject);
  if (!o.start.empty()) command += " -startdate " + o.start;
  if (!o.end.empty()) command += " -enddate " + o.end;
  if (shell(command + " 2>" + dir + "/issue.log") != 0) {
    throw std::runtime_error("the test CA refused to issue: " + read_file(dir + "/issue.log"));
  }
  return read_file(dir + "/leaf" + n + ".pem");
}

void TestCa::revoke(const std::string& certificate_pem) const {
  write_file(dir + "/revoke.pem", certificate_pem);
  if (shell("cd " + dir + " && openssl ca -batch -config ca.cnf -revoke revoke.pem 2>/dev/null") !=
      0) {
    throw std::runtime_error("the test CA could not revoke");
  }
}

std::string TestCa::crl_der() const {
  shell("cd " + dir +
        " && openssl ca -batch -config ca.cnf -gencrl -out crl.pem 2>/dev/null && "
        "openssl crl -in crl.pem -outform DER -out crl.der");
  return read_file(dir + "/crl.der");
}

std::uint32_t serial_on(const json& token_list, const std::string& medium) {
  for (const json& t : token_list["tokens"]) {
    if (t["medium"] == medium) return t["serial"].get<std::uint32_t>();
  }
  return 0;
}

std::string provision_certificate(std::uint32_t serial, const std::string& name, const TestCa& ca,
                                  const TestCa::Options& options, const std::string& id,
                                  const std::string& key_type) {
  const std::string dir = temp_dir();
  const std::string module = build_dir() + "/pkcs11-module/src/libcertkey-pkcs11.so";
  const std::string label = "certkey " + std::to_string(serial);
  write_file(dir + "/engine.cnf",
             "openssl_conf = init\n[init]\nengines = engines\n[engines]\npkcs11 = pkcs11\n"
             "[pkcs11]\nengine_id = pkcs11\nMODULE_PATH = " +
                 module + "\ninit = 0\n");
  const std::string uri =
      "pkcs11:token=certkey%20" + std::to_string(serial) + ";id=%" + id + ";type=private";
  const int made =
      shell("cd " + dir + " && pkcs11-tool --module " + module + " --token-label " + quoted(label) +
            " --login --pin 123456 --keypairgen --key-type " + key_type + " --id " + id +
            " >/dev/null 2>&1 && OPENSSL_CONF=engine.cnf openssl req -new -subj " +
            quoted("/CN=" + name) + " -engine pkcs11 -keyform engine -key " + quoted(uri) +
            " -passin pass:123456 -out request.csr >/dev/null 2>&1");
  if (made != 0)
    throw std::runtime_error("could not make a key and request on token " + std::to_string(serial));
  const std::string certificate = ca.issue(read_file(dir + "/request.csr"), options);
  write_file(dir + "/certificate.pem", certificate);
  const int written =
      shell("cd " + dir +
            " && openssl x509 -in certificate.pem -outform DER -out "
            "certificate.der && pkcs11-tool --module " +
            module + " --token-label " + quoted(label) +
            " --login --pin 123456 --write-object certificate.der --type cert --id " + id +
            " >/dev/null 2>&1");
  if (written != 0)
    throw std::runtime_error("could not write the certificate to token " + std::to_string(serial));
  return certificate;
}

CliRun run_certkey(const std::string& runtime_dir, const std::string& args, const std::string& lang,
                   const std::string& input) {
  const std::string dir = temp_dir();
  write_file(dir + "/in", input);
  CliRun r;
  r.status = shell("env -u LANGUAGE -u LC_ALL -u LC_MESSAGES LANG=" + lang +
                   " XDG_RUNTIME_DIR=" + runtime_dir + " " + build_dir() + "/daemon/certkey " +
                   args + " <" + dir + "/in >" + dir + "/out 2>" + dir + "/err");
  r.out = read_file(dir + "/out");
  r.err = read_file(dir + "/err");
  return r;
}

std::string provision_certificate(std::uint32_t serial, const std::string& name) {
  static const TestCa ca("provisioning");
  return provision_certificate(serial, name, ca);
}

}  // namespace certkey::test
