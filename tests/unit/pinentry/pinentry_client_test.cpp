// The pinentry client (pkcs11-module/pinentry/, docs/pkcs11.md section 10.5; DESIGN.md
// section 6, security model item 4) driving the real scripted pinentry of tests/harness: an
// entered PIN comes back, cancel, a passed deadline and cancel() from another thread end the
// prompt, a missing program is reported, the prompt's text arrives Assuan-escaped, and the
// PIN is never on the program's command line. This process is a child subreaper, so every
// test also checks that no prompt process was left running or unreaped.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <certkey/pinentry/pinentry_client.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace certkey::pinentry {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

// Never reached: a prompt that ignored its end would hit the ctest timeout first.
const Deadline kFarDeadline = steady_clock::now() + std::chrono::hours(1);

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Prompt prompt() {
  Prompt p;
  p.title = "certkey";
  p.description = "A program on this computer asks for the PIN of Alice's key";
  p.prompt = "PIN:";
  return p;
}

class PinentryClient : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    std::string pattern = (fs::temp_directory_path() / "certkey-pinentry-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ::setenv("SCRIPTED_PINENTRY_ANSWERS", (dir_ / "answers").c_str(), 1);
    ::setenv("SCRIPTED_PINENTRY_LOG", (dir_ / "log").c_str(), 1);
    ::unsetenv("SCRIPTED_PINENTRY_SHOWN");
  }

  void TearDown() override {
    EXPECT_TRUE(no_process_left());
    ::unsetenv("SCRIPTED_PINENTRY_ANSWERS");
    ::unsetenv("SCRIPTED_PINENTRY_LOG");
    ::unsetenv("SCRIPTED_PINENTRY_SHOWN");
    fs::remove_all(dir_);
  }

  // The scripted pinentry's rules (see its header comment).
  void answers(const std::string& rules) { std::ofstream(dir_ / "answers") << rules; }

  // What the program was asked to show, one line each.
  std::string log() const {
    std::ifstream in(dir_ / "log");
    std::string text, line;
    while (std::getline(in, line)) text += line + "\n";
    return text;
  }

  static Answer ask_scripted(const Prompt& p = prompt(), Deadline deadline = kFarDeadline,
                             const Cancellation* cancellation = nullptr) {
    return ask(CERTKEY_SCRIPTED_PINENTRY, p, deadline, cancellation);
  }

  // No child is running and none is waiting to be reaped (orphaned grandchildren would be
  // this process's children too).
  static bool no_process_left() {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    return pid < 0 && errno == ECHILD;
  }

  fs::path dir_;
};

TEST_F(PinentryClient, EnteredPin_IsReturned) {
  answers("pin:123456\n");
  const Answer answer = ask_scripted();
  EXPECT_EQ(answer.outcome, Outcome::entered);
  EXPECT_EQ(answer.secret.view(), "123456");
}

TEST_F(PinentryClient, RuleMatchingTheDescription_IsTheOneApplied) {
  answers("Bob\tpin:1111\nAlice\tpin:2222\npin:3333\n");
  EXPECT_EQ(ask_scripted().secret.view(), "2222");
}

TEST_F(PinentryClient, EscapedData_IsUnescaped) {
  answers("pin:12%2534\n");  // Assuan's escaping of "12%34"
  EXPECT_EQ(ask_scripted().secret.view(), "12%34");
}

// A pinentry that cannot show who asks is no trusted prompt; one without SETTIMEOUT is.
TEST_F(PinentryClient, RefusedDescription_FailsThePrompt_RefusedTimeoutDoesNot) {
  answers("pin:123456\n");
  ::setenv("SCRIPTED_PINENTRY_REFUSE", "SETDESC", 1);
  EXPECT_EQ(ask_scripted().outcome, Outcome::failed);
  ::setenv("SCRIPTED_PINENTRY_REFUSE", "SETTIMEOUT", 1);
  EXPECT_EQ(ask_scripted().outcome, Outcome::entered);
  ::unsetenv("SCRIPTED_PINENTRY_REFUSE");
}

TEST_F(PinentryClient, UserCancels_IsCancelled) {
  answers("cancel\n");
  const Answer answer = ask_scripted();
  EXPECT_EQ(answer.outcome, Outcome::cancelled);
  EXPECT_TRUE(answer.secret.empty());
}

TEST_F(PinentryClient, DeadlineAlreadyPassed_IsTimedOut_AndTheProgramIsReaped) {
  answers("hang\n");
  const Answer answer = ask_scripted(prompt(), steady_clock::now() - std::chrono::seconds(1));
  EXPECT_EQ(answer.outcome, Outcome::timed_out);
  EXPECT_TRUE(answer.secret.empty());
}

TEST_F(PinentryClient, CancelledBeforeAsking_StartsNoProgram) {
  answers("pin:123456\n");
  Cancellation cancellation;
  cancellation.cancel();
  EXPECT_EQ(ask_scripted(prompt(), kFarDeadline, &cancellation).outcome, Outcome::cancelled);
  EXPECT_FALSE(fs::exists(dir_ / "log"));
}

TEST_F(PinentryClient, CancelFromAnotherThread_EndsAnOpenPrompt) {
  const fs::path fifo = dir_ / "never-written";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  answers("wait:" + fifo.string() + "\n");
  Cancellation cancellation;
  Answer answer;
  std::atomic<bool> ended{false};
  int release = -1;
  std::thread asking([&] {
    answer = ask_scripted(prompt(), kFarDeadline, &cancellation);
    ended = true;
    release = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);  // for the open below
  });
  // The program opens the FIFO for its answer once the prompt is shown (and past reading its
  // rules), so this open returns when the prompt is open, or when it ended without getting
  // there. Nothing is ever written: the program stays blocked until it is cancelled.
  const Fd writer(::open(fifo.c_str(), O_WRONLY | O_CLOEXEC));
  const bool ended_before_cancel = ended;
  cancellation.cancel();
  asking.join();
  const Fd released(release);

  EXPECT_FALSE(ended_before_cancel) << "the prompt ended before it was cancelled";
  EXPECT_EQ(answer.outcome, Outcome::cancelled);
}

TEST_F(PinentryClient, MissingProgram_IsUnavailable) {
  EXPECT_EQ(ask("/nonexistent/pinentry", prompt(), kFarDeadline).outcome, Outcome::unavailable);
  EXPECT_EQ(ask("certkey-no-such-pinentry", prompt(), kFarDeadline).outcome, Outcome::unavailable);
}

TEST_F(PinentryClient, DescriptionWithPercentAndLineBreaks_ArrivesEscaped) {
  answers("cancel\n");
  Prompt p = prompt();
  p.description = "50% off\nline two\rend";
  ask_scripted(p);
  EXPECT_NE(log().find("SETDESC 50%25 off%0Aline two%0Dend\n"), std::string::npos) << log();
  EXPECT_EQ(assuan_escape("a%\n\rb"), "a%25%0A%0Db");
}

TEST_F(PinentryClient, Terminal_IsPassedAsTtyOptions) {
  answers("cancel\n");
  Prompt p = prompt();
  p.tty_name = "/dev/pts/9";
  p.tty_type = "xterm-256color";
  ask_scripted(p);
  EXPECT_NE(log().find("OPTION ttyname=/dev/pts/9\n"), std::string::npos) << log();
  EXPECT_NE(log().find("OPTION ttytype=xterm-256color\n"), std::string::npos) << log();
}

TEST_F(PinentryClient, NoTerminal_SendsNoTtyOptions) {
  answers("cancel\n");
  ask_scripted();
  EXPECT_EQ(log().find("OPTION tty"), std::string::npos) << log();
}

TEST_F(PinentryClient, Pin_IsNeverOnTheProgramsCommandLine) {
  answers("pin:918273\n");
  ASSERT_EQ(ask_scripted().outcome, Outcome::entered);
  const std::string text = log();
  const std::string argv_line = text.substr(0, text.find('\n'));
  EXPECT_EQ(argv_line.rfind("argv: ", 0), 0u) << argv_line;
  EXPECT_EQ(argv_line.find("918273"), std::string::npos) << argv_line;
  EXPECT_EQ(text.find("918273"), std::string::npos) << text;
}

}  // namespace
}  // namespace certkey::pinentry

namespace certkey::pinentry {
namespace {

// A moved-from secret keeps no byte of the PIN (a std::string would: moving a short string
// copies its characters and leaves them in the source).
TEST(Secret, MovedFromOrAssignedOver_KeepsNoByteOfIt) {
  Secret first("86420975");
  Secret second(std::move(first));
  EXPECT_EQ(second.view(), "86420975");
  EXPECT_TRUE(first.empty());
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(first.data()[i], '\0') << i;
  Secret third("123456");
  third = std::move(second);
  EXPECT_EQ(third.view(), "86420975");
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(second.data()[i], '\0') << i;
  third.wipe();
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(third.data()[i], '\0') << i;
}

}  // namespace
}  // namespace certkey::pinentry
