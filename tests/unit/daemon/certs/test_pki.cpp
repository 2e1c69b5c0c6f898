#include "test_pki.hpp"

#include <fcntl.h>
#include <openssl/pem.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace certkey::test {
namespace {

// How long a responder may take to start listening: a bound for a failure, not a wait.
constexpr std::chrono::seconds kStartBound{10};

const char* const kRequestConfig = R"([req]
distinguished_name = dn
[dn]
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
)";

std::string ca_section(const std::string& name, const std::string& dir) {
  return "[" + name + "]\ndir = " + dir + "\n" + R"(database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = any_name
unique_subject = no
copy_extensions = none
email_in_dn = no
)";
}

std::string tail(const std::string& path) {
  const std::string text = read_text(path);
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

const std::string kNewKey = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

}  // namespace

void shell(const std::string& dir, const std::string& command) {
  const std::string full = "cd '" + dir + "' && { " + command + " ; } >>commands.log 2>&1";
  const int status = std::system(full.c_str());
  if (status != 0) {
    throw std::runtime_error("failed (" + std::to_string(status) + "): " + command + "\n" +
                             tail(dir + "/commands.log"));
  }
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

X509Ptr load_certificate(const std::string& pem_path) {
  const std::string text = read_text(pem_path);
  daemon::certs::Bio in(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  X509Ptr certificate(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr,
                      X509_free);
  if (!certificate) throw std::runtime_error("no certificate in " + pem_path);
  return certificate;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/certkey-certs-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

TestPki::TestPki(std::string dir) : dir_(std::move(dir)) {
  for (const char* sub : {"issuing/new", "impostor/new"})
    std::filesystem::create_directories(dir_ + "/" + sub);
  write_text(dir_ + "/req.cnf", kRequestConfig);
  write_text(dir_ + "/ca.cnf", "[ca]\ndefault_ca = issuing\n" +
                                   ca_section("issuing", dir_ + "/issuing") +
                                   ca_section("impostor", dir_ + "/impostor") +
                                   "[any_name]\ncommonName = supplied\n");
  for (const char* ca : {"issuing", "impostor"}) {
    const std::string d = dir_ + "/" + ca;
    write_text(d + "/index.txt", "");
    write_text(d + "/serial", "1000\n");
    write_text(d + "/crlnumber", "01\n");
  }
  const std::string self_signed =
      "openssl req -x509 -new -config req.cnf -extensions v3_ca " + kNewKey + " -days 3650";
  shell(dir_, self_signed + " -subj '/CN=certkey test root' -keyout root.key -out root.pem");
  shell(dir_,
        "openssl req -new -config req.cnf " + kNewKey +
            " -subj '/CN=certkey test issuing CA' -keyout issuing/ca.key -out issuing/ca.csr && "
            "openssl x509 -req -in issuing/ca.csr -CA root.pem -CAkey root.key -set_serial 2 -days "
            "3650 "
            "-extfile req.cnf -extensions v3_ca -out issuing/ca.pem");
  shell(dir_, self_signed + " -subj '/CN=certkey other root' -keyout other.key -out other.pem");
  // Same name as the issuing CA, another key: what a forged CRL would claim to come from.
  shell(dir_,
        self_signed +
            " -subj '/CN=certkey test issuing CA' -keyout impostor/ca.key -out impostor/ca.pem");
}

std::string TestPki::issue(const std::string& name, const std::vector<std::string>& extensions,
                           const Validity& validity) {
  std::string lines =
      "basicConstraints = critical, CA:FALSE\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier "
      "= keyid\n";
  bool key_usage = false;
  for (const std::string& line : extensions) {
    lines += line + "\n";
    key_usage = key_usage || line.rfind("keyUsage", 0) == 0;
  }
  if (!key_usage) lines += "keyUsage = critical, digitalSignature\n";
  write_text(dir_ + "/" + name + ".ext", lines);
  const std::string dates = (validity.start.empty() ? "" : " -startdate " + validity.start) +
                            (validity.end.empty() ? " -days 30" : " -enddate " + validity.end);
  shell(dir_, "openssl req -new -config req.cnf " + kNewKey + " -subj '/CN=" + name + "' -keyout " +
                  name + ".key -out " + name +
                  ".csr && openssl ca -batch -config ca.cnf -name issuing -notext -in " + name +
                  ".csr -out " + name + ".pem -extfile " + name + ".ext" + dates);
  return dir_ + "/" + name + ".pem";
}

std::string TestPki::issue_from_other_root(const std::string& name) {
  shell(dir_, "openssl req -new -config req.cnf " + kNewKey + " -subj '/CN=" + name + "' -keyout " +
                  name + ".key -out " + name + ".csr && openssl x509 -req -in " + name +
                  ".csr -CA other.pem -CAkey other.key -set_serial 7 -days 30 -extfile req.cnf "
                  "-extensions leaf -out " +
                  name + ".pem");
  return dir_ + "/" + name + ".pem";
}

void TestPki::revoke(const std::string& pem, const std::string& reason) {
  shell(dir_,
        "openssl ca -config ca.cnf -name issuing -revoke '" + pem + "' -crl_reason " + reason);
}

std::string TestPki::crl_der() {
  shell(dir_,
        "openssl ca -config ca.cnf -name issuing -gencrl -out issuing.crl.pem && "
        "openssl crl -in issuing.crl.pem -outform DER -out issuing.crl");
  return read_text(dir_ + "/issuing.crl");
}

std::string TestPki::impostor_crl_der() {
  shell(dir_,
        "openssl ca -config ca.cnf -name impostor -gencrl -out impostor.crl.pem && "
        "openssl crl -in impostor.crl.pem -outform DER -out impostor.crl");
  return read_text(dir_ + "/impostor.crl");
}

OcspResponder::OcspResponder(std::vector<std::string> args, std::string log)
    : args_(std::move(args)), log_(std::move(log)) {}

OcspResponder::~OcspResponder() { stop(); }

void OcspResponder::start(unsigned short port) {
  if (running()) return;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<std::string> words{"openssl", "ocsp", "-port", std::to_string(port)};
  words.insert(words.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  const int spawned = ::posix_spawnp(&pid_, "openssl", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  output_ = pipe_fds[0];
  if (spawned != 0) {
    pid_ = -1;
    stop();
    throw std::runtime_error("cannot start openssl ocsp");
  }

  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + kStartBound;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd ready{output_, POLLIN, 0};
    char buffer[256];
    const ssize_t n = left.count() > 0 && ::poll(&ready, 1, static_cast<int>(left.count())) == 1
                          ? ::read(output_, buffer, sizeof buffer)
                          : -1;
    if (n <= 0) {
      stop();
      throw std::runtime_error("openssl ocsp did not start listening: " + line + "\n" + tail(log_));
    }
    line.append(buffer, static_cast<std::size_t>(n));
  }
  // "ACCEPT [::]:46153 PID=13363" or "ACCEPT 0.0.0.0:46153 PID=13363"
  const std::size_t end = line.find(" PID");
  const std::size_t colon = line.rfind(':', end);
  if (line.rfind("ACCEPT ", 0) != 0 || colon == std::string::npos) {
    stop();
    throw std::runtime_error("unexpected output from openssl ocsp: " + line);
  }
  port_ = static_cast<unsigned short>(std::stoul(line.substr(colon + 1, end - colon - 1)));
}

void OcspResponder::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (output_ >= 0) {
    ::close(output_);
    output_ = -1;
  }
}

}  // namespace certkey::test
