// The trusted PIN prompt: a pinentry program (the family GnuPG uses), spoken to over its
// Assuan pipe protocol. One client for the PKCS#11 module's prompt and certkeyd's.
//
// The program gets no arguments and nothing of the caller's descriptors but its standard
// input and output (one socket) and standard error; the PIN travels only through that
// socket, and every buffer that held it is wiped. A deadline bounds the whole exchange: the
// program is told (SETTIMEOUT) and killed when it passes; another thread may cancel.
#pragma once
#include <chrono>
#include <string>

#include "secret.hpp"

namespace certkey::pinentry {

struct Prompt {
  std::string title;        // window title
  std::string description;  // who asks, for what, on which token
  std::string prompt;       // the label before the entry field, e.g. "PIN:"
  std::string tty_name;     // a terminal for a curses pinentry (GnuPG's GPG_TTY); optional
  std::string tty_type;     // its TERM; optional
  // A yes-or-no question instead of a secret (Assuan CONFIRM): Outcome::entered is "yes",
  // with an empty secret; cancelled is "no". The buttons say `ok_label` and `cancel_label`.
  bool confirm = false;
  std::string ok_label;
  std::string cancel_label;
};

enum class Outcome {
  entered,      // `secret` holds what the user typed
  cancelled,    // the user cancelled, or cancel() was called
  timed_out,    // the deadline passed
  unavailable,  // the program could not be started
  failed,       // it broke the protocol or died
};

struct Answer {
  Outcome outcome = Outcome::failed;
  Secret secret;
};

// Lets another thread end a prompt in progress (certkeyd's shutdown). Thread-safe.
class Cancellation {
 public:
  Cancellation();
  ~Cancellation();
  Cancellation(const Cancellation&) = delete;
  Cancellation& operator=(const Cancellation&) = delete;
  void cancel();
  bool cancelled() const;
  int fd() const { return fds_[0]; }  // readable once cancelled

 private:
  int fds_[2] = {-1, -1};
};

using Deadline = std::chrono::steady_clock::time_point;

// Runs `program` and asks for one secret. Blocks until an answer, the deadline, or
// `cancellation` (may be null).
Answer ask(const std::string& program, const Prompt& prompt, Deadline deadline,
           const Cancellation* cancellation = nullptr);

// Assuan's percent-escaping of data (%, CR, LF), and its reverse; exposed for tests.
std::string assuan_escape(std::string_view text);

}  // namespace certkey::pinentry
