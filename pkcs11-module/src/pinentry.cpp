#include "pinentry.hpp"

#include <openssl/crypto.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace certkey::p11 {
namespace {

constexpr std::size_t kMaxLine = 1000;  // Assuan lines are at most 1000 bytes

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Assuan escapes %, CR and LF in data.
std::string escape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '%' || c == '\n' || c == '\r') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string unescape(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::strtol(text.substr(i + 1, 2).c_str(), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

class Pipe {
 public:
  explicit Pipe(int fd) : in_(fd), out_(fd) {}
  ~Pipe() { ::close(in_); }
  // MSG_NOSIGNAL: a pinentry that died must not kill the application with SIGPIPE.
  bool send(const std::string& line) {
    std::string data = line + "\n";
    return ::send(out_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }
  // One response line; false at EOF or when a line is too long.
  bool receive(std::string& line) {
    line.clear();
    char c;
    while (::read(in_, &c, 1) == 1) {
      if (c == '\n') return true;
      if (line.size() >= kMaxLine) return false;
      line += c;
    }
    return false;
  }
  // Reads until OK (true) or ERR (false); D lines are collected into `data`. Lines may hold
  // the PIN, so every copy is wiped.
  bool until_ok(std::string* data = nullptr) {
    std::string line;
    line.reserve(kMaxLine + 1);
    bool ok = false, done = false;
    while (!done && receive(line)) {
      if (line.rfind("OK", 0) == 0) {
        ok = done = true;
      } else if (line.rfind("ERR", 0) == 0) {
        done = true;
      } else if (data && line.rfind("D ", 0) == 0) {
        std::string value = unescape(line.substr(2));
        *data += value;
        OPENSSL_cleanse(value.data(), value.size());
      }
    }
    OPENSSL_cleanse(line.data(), line.size());
    return ok;
  }

 private:
  int in_, out_;
};

}  // namespace

ModuleConfig load_module_config() {
  ModuleConfig config;
  const char* env = std::getenv("CERTKEY_PKCS11_CONF");
  std::ifstream file(env ? env : "/etc/certkey/pkcs11.conf");
  std::string line;
  while (std::getline(file, line)) {
    line = trim(line.substr(0, line.find('#')));
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    if (trim(line.substr(0, eq)) == "pinentry") config.pinentry = trim(line.substr(eq + 1));
  }
  return config;
}

std::optional<std::string> ask_pin(const std::string& program, const std::string& description,
                                   const std::string& prompt) {
  // One socket pair for the child's stdin and stdout: writes to it can use MSG_NOSIGNAL.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return std::nullopt;
  // posix_spawn, not fork: the caller holds the module lock, and fork would run the module's
  // atfork handlers (which take that lock).
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  // Nothing else of the application's (its sockets, its files) reaches the prompt program.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  char* argv[] = {const_cast<char*>(program.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    return std::nullopt;
  }
  std::optional<std::string> pin;
  {
    Pipe pipe(fds[0]);
    std::string value;
    if (pipe.until_ok() && pipe.send("SETDESC " + escape(description)) && pipe.until_ok() &&
        pipe.send("SETPROMPT " + escape(prompt)) && pipe.until_ok() && pipe.send("GETPIN") &&
        pipe.until_ok(&value)) {
      pin = value;
    }
    OPENSSL_cleanse(value.data(), value.size());
    pipe.send("BYE");
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pin;
}

}  // namespace certkey::p11
