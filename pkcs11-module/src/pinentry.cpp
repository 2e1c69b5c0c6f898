#include "pinentry.hpp"

#include <openssl/crypto.h>
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
  Pipe(int read_fd, int write_fd) : in_(read_fd), out_(write_fd) {}
  ~Pipe() {
    OPENSSL_cleanse(buffer_.data(), buffer_.size());
    ::close(in_);
    ::close(out_);
  }
  bool send(const std::string& line) {
    std::string data = line + "\n";
    return ::write(out_, data.data(), data.size()) == static_cast<ssize_t>(data.size());
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
  // Reads until OK (true) or ERR (false); D lines are collected into `data`.
  bool until_ok(std::string* data = nullptr) {
    std::string line;
    while (receive(line)) {
      if (line.rfind("OK", 0) == 0) return true;
      if (line.rfind("ERR", 0) == 0) return false;
      if (data && line.rfind("D ", 0) == 0) *data += unescape(line.substr(2));
    }
    return false;
  }

 private:
  int in_, out_;
  std::string buffer_;
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
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) return std::nullopt;
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    return std::nullopt;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(to_child[0], STDIN_FILENO);
    ::dup2(from_child[1], STDOUT_FILENO);
    ::execl(program.c_str(), program.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (pid < 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    return std::nullopt;
  }
  std::optional<std::string> pin;
  {
    Pipe pipe(from_child[0], to_child[1]);
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
