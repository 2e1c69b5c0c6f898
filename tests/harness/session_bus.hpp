// A session D-Bus of a test's own: dbus-daemon on a socket in a temporary directory, with the
// notification listener (notification_listener.cpp) owning org.freedesktop.Notifications on
// it. Both end with the object. Waits are on the listener's lines, never on time.
#pragma once
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace certkey::test {

class SessionBus {
 public:
  explicit SessionBus(const std::string& listener_program) {
    char pattern[] = "/tmp/certkey-bus-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp");
    dir_ = pattern;
    Lines bus_out;
    bus_ = spawn({"dbus-daemon", "--config-file=/usr/share/dbus-1/session.conf", "--nofork",
                  "--address=unix:path=" + dir_ + "/bus", "--print-address=1"},
                 bus_out);
    address = bus_out.next();
    ::close(bus_out.fd);
    address.erase(address.find_last_not_of("\n") + 1);
    if (address.empty()) throw std::runtime_error("dbus-daemon printed no address");
    ::setenv("DBUS_SESSION_BUS_ADDRESS", address.c_str(), 1);
    listener_ = spawn({listener_program}, listener_out_);
    ::unsetenv("DBUS_SESSION_BUS_ADDRESS");
    if (nlohmann::json::parse(listener_out_.next(), nullptr, false).value("ready", false) != true) {
      throw std::runtime_error("the notification listener did not start");
    }
  }
  ~SessionBus() {
    for (const pid_t pid : {listener_, bus_}) {
      if (pid <= 0) continue;
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
    if (listener_out_.fd >= 0) ::close(listener_out_.fd);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  SessionBus(const SessionBus&) = delete;
  SessionBus& operator=(const SessionBus&) = delete;

  // The next notification the listener was sent; blocks until there is one.
  nlohmann::json next_notification() {
    return nlohmann::json::parse(listener_out_.next(), nullptr, false);
  }
  // Whether another notification came: the listener prints each one before it answers the
  // call, so what a finished call sent is already there.
  bool more_notifications() {
    pollfd p{listener_out_.fd, POLLIN, 0};
    return listener_out_.buffer.find('\n') != std::string::npos || ::poll(&p, 1, 0) == 1;
  }

  std::string address;

 private:
  // A child's standard output, read line by line without stdio's buffer in the way of poll.
  struct Lines {
    int fd = -1;
    std::string buffer;
    std::string next() {
      for (;;) {
        if (const std::size_t end = buffer.find('\n'); end != std::string::npos) {
          std::string line = buffer.substr(0, end + 1);
          buffer.erase(0, end + 1);
          return line;
        }
        char chunk[4096];
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) return "";
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
    }
  };

  static pid_t spawn(const std::vector<std::string>& args, Lines& out) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    out.fd = pipe_fds[0];
    return pid;
  }

  std::string dir_;
  pid_t bus_ = -1, listener_ = -1;
  Lines listener_out_;
};

}  // namespace certkey::test
