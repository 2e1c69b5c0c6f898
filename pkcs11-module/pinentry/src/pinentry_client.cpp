#include "certkey/pinentry/pinentry_client.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <algorithm>
#include <cstring>
#include <vector>

extern char** environ;

namespace certkey::pinentry {
namespace {

constexpr std::size_t kMaxLine = 1000;                // Assuan lines are at most 1000 bytes
constexpr auto kExitGrace = std::chrono::seconds(2);  // for the program to leave after BYE

int remaining_ms(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// One Assuan conversation over a socket. Every byte read may be part of the PIN, so the
// read buffer and the line are fixed arrays, wiped when the conversation ends.
class Conversation {
 public:
  Conversation(int fd, Deadline deadline, const Cancellation* cancellation)
      : fd_(fd), deadline_(deadline), cancellation_(cancellation) {}
  ~Conversation() {
    OPENSSL_cleanse(buffer_.data(), buffer_.size());
    OPENSSL_cleanse(line_.data(), line_.size());
  }
  Conversation(const Conversation&) = delete;
  Conversation& operator=(const Conversation&) = delete;

  Outcome outcome() const { return outcome_; }
  // The last command was answered with ERR (as opposed to the conversation breaking).
  bool refused() const { return refused_; }
  void fail_as(Outcome outcome) { outcome_ = outcome; }

  // MSG_NOSIGNAL: a pinentry that died must not kill the caller with SIGPIPE.
  bool send(const std::string& line) {
    const std::string data = line + "\n";
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

  // Reads up to OK (true) or ERR (false). D lines are unescaped into `data` when given.
  bool until_ok(Secret* data = nullptr) {
    refused_ = false;
    std::array<char, kMaxLine> value{};
    std::size_t value_size = 0;
    bool ok = false;
    for (;;) {
      std::size_t length = 0;
      if (!read_line(length)) break;
      const std::string_view line(line_.data(), length);
      if (line.substr(0, 2) == "OK" && (length == 2 || line[2] == ' ')) {
        ok = true;
        break;
      }
      if (line.substr(0, 3) == "ERR") {
        refused_ = true;
        // GPG_ERR_TIMEOUT (62) in any error source: the program's own timer ran out.
        outcome_ = line.find(" 62 ") != std::string_view::npos ||
                           line.find("imeout") != std::string_view::npos
                       ? Outcome::timed_out
                       : Outcome::cancelled;
        break;
      }
      if (data && line.substr(0, 2) == "D ")
        value_size = unescape_into(line.substr(2), value, value_size);
    }
    if (ok && data) *data = Secret(std::string_view(value.data(), value_size));
    OPENSSL_cleanse(value.data(), value.size());
    return ok;
  }

 private:
  // Appends the unescaped text to `out`; stops at its capacity.
  static std::size_t unescape_into(std::string_view text, std::array<char, kMaxLine>& out,
                                   std::size_t size) {
    for (std::size_t i = 0; i < text.size() && size < out.size(); ++i) {
      int high = -1, low = -1;
      if (text[i] == '%' && i + 2 < text.size() && (high = hex_value(text[i + 1])) >= 0 &&
          (low = hex_value(text[i + 2])) >= 0) {
        out[size++] = static_cast<char>(high * 16 + low);
        i += 2;
      } else {
        out[size++] = text[i];
      }
    }
    return size;
  }

  // One line into line_, without its newline. False at EOF, timeout, cancellation or an
  // over-long line; outcome_ says which.
  bool read_line(std::size_t& length) {
    length = 0;
    for (;;) {
      while (begin_ < end_) {
        const char c = buffer_[begin_++];
        if (c == '\n') return true;
        if (length == line_.size()) return fail(Outcome::failed);
        line_[length++] = c;
      }
      if (!fill()) return false;
    }
  }

  bool fill() {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {cancellation_ ? cancellation_->fd() : -1, POLLIN, 0}};
    for (;;) {
      const int ready = ::poll(fds, 2, remaining_ms(deadline_));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) return fail(Outcome::timed_out);
      if (ready < 0 || (fds[1].revents & POLLIN))
        return fail(ready < 0 ? Outcome::failed : Outcome::cancelled);
      break;
    }
    const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    if (n <= 0) return fail(Outcome::failed);
    begin_ = 0;
    end_ = static_cast<std::size_t>(n);
    return true;
  }

  bool fail(Outcome why) {
    outcome_ = why;
    return false;
  }

  int fd_;
  Deadline deadline_;
  const Cancellation* cancellation_;
  std::array<char, 1024> buffer_{};
  std::size_t begin_ = 0, end_ = 0;
  std::array<char, kMaxLine> line_{};
  Outcome outcome_ = Outcome::failed;
  bool refused_ = false;
};

pid_t spawn(const std::string& program, int child_fd) {
  // posix_spawn, not fork: the PKCS#11 module asks while it holds its lock, and fork would
  // run the module's atfork handlers (which take that lock).
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child_fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, child_fd, STDOUT_FILENO);
  // Nothing else of the caller's (its sockets, its files) reaches the prompt program.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  // Nor the caller's signal state: an application (certkeyd) may block or ignore signals.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int signal : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, signal);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char* argv[] = {const_cast<char*>(program.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawnp(&pid, program.c_str(), &actions, &attributes, argv, environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  return spawned == 0 ? pid : -1;
}

// Waits for the program to leave, at most kExitGrace after a polite end; kills it otherwise.
void reap(pid_t pid, bool polite) {
  if (polite) {
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd >= 0) {
      pollfd exited{pidfd, POLLIN, 0};
      const int ready =
          ::poll(&exited, 1, static_cast<int>(std::chrono::milliseconds(kExitGrace).count()));
      ::close(pidfd);
      polite = ready == 1;
    } else {
      polite = false;
    }
  }
  if (!polite) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// The commands before GETPIN, and whether the prompt may go on if the program refuses one.
// SETTIMEOUT lets a graphical pinentry close its own dialog when the deadline passes, and the
// OPTIONs point a curses pinentry at the caller's terminal: an old pinentry may lack them.
// The texts may not be refused: a prompt that cannot say who asks is no trusted prompt.
struct SetupCommand {
  std::string line;
  bool optional;
};

std::vector<SetupCommand> setup_commands(const Prompt& prompt, Deadline deadline) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
  std::vector<SetupCommand> commands;
  if (!prompt.tty_name.empty())
    commands.push_back({"OPTION ttyname=" + assuan_escape(prompt.tty_name), true});
  if (!prompt.tty_type.empty())
    commands.push_back({"OPTION ttytype=" + assuan_escape(prompt.tty_type), true});
  commands.push_back(
      {"SETTIMEOUT " + std::to_string(std::max<long long>(1, seconds.count())), true});
  commands.push_back({"SETTITLE " + assuan_escape(prompt.title), false});
  commands.push_back({"SETDESC " + assuan_escape(prompt.description), false});
  if (!prompt.confirm) commands.push_back({"SETPROMPT " + assuan_escape(prompt.prompt), false});
  if (!prompt.ok_label.empty())
    commands.push_back({"SETOK " + assuan_escape(prompt.ok_label), true});
  if (!prompt.cancel_label.empty())
    commands.push_back({"SETCANCEL " + assuan_escape(prompt.cancel_label), true});
  return commands;
}

}  // namespace

Secret::Secret(std::string_view text) : size_(std::min(text.size(), kCapacity)) {
  std::memcpy(bytes_.data(), text.data(), size_);
}

Secret::Secret(Secret&& other) noexcept : size_(other.size_) {
  std::memcpy(bytes_.data(), other.bytes_.data(), size_);
  other.wipe();
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    size_ = other.size_;
    std::memcpy(bytes_.data(), other.bytes_.data(), size_);
    other.wipe();
  }
  return *this;
}

void Secret::wipe() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
  size_ = 0;
}

Cancellation::Cancellation() {
  if (::pipe2(fds_, O_CLOEXEC | O_NONBLOCK) != 0) fds_[0] = fds_[1] = -1;
}

Cancellation::~Cancellation() {
  if (fds_[0] >= 0) ::close(fds_[0]);
  if (fds_[1] >= 0) ::close(fds_[1]);
}

void Cancellation::cancel() {
  const char byte = 1;
  [[maybe_unused]] const ssize_t n = ::write(fds_[1], &byte, 1);
}

bool Cancellation::cancelled() const {
  pollfd fd{fds_[0], POLLIN, 0};
  return ::poll(&fd, 1, 0) == 1;
}

std::string assuan_escape(std::string_view text) {
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

Answer ask(const std::string& program, const Prompt& prompt, Deadline deadline,
           const Cancellation* cancellation) {
  Answer answer;
  if (cancellation && cancellation->cancelled()) {
    answer.outcome = Outcome::cancelled;
    return answer;
  }
  // One socket for the child's stdin and stdout, so that writes can use MSG_NOSIGNAL.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    answer.outcome = Outcome::unavailable;
    return answer;
  }
  const pid_t pid = spawn(program, fds[1]);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    answer.outcome = Outcome::unavailable;
    return answer;
  }
  bool entered = false;
  {
    Conversation talk(fds[0], deadline, cancellation);
    // The greeting, then one command at a time; a broken conversation, a timeout, a
    // cancellation or a refused text ends it.
    bool talking = talk.until_ok();
    for (const SetupCommand& command : setup_commands(prompt, deadline)) {
      if (!talking) break;
      talking =
          talk.send(command.line) && (talk.until_ok() || (command.optional && talk.refused()));
    }
    if (!talking && talk.refused()) talk.fail_as(Outcome::failed);
    entered = talking && talk.send(prompt.confirm ? "CONFIRM" : "GETPIN") &&
              talk.until_ok(prompt.confirm ? nullptr : &answer.secret);
    answer.outcome = entered ? Outcome::entered : talk.outcome();
    if (entered) talk.send("BYE");
  }
  ::close(fds[0]);
  reap(pid, entered);
  if (!entered) answer.secret.wipe();
  return answer;
}

}  // namespace certkey::pinentry
