// Token work runs on one queue per token, and every operation has a deadline (DESIGN.md
// section 6): a PIN prompt left open on one token stalls neither reads nor the other token;
// a prompt nobody answers ends at its deadline; SIGTERM during a prompt ends it and the
// daemon within its shutdown bound, saying what became of the work. Runs in
// tests/harness/with-tokens --media usbkey,sim. The scripted pinentry announces an open
// prompt on a FIFO and waits on another for its answer: the test waits for events, never
// for time.
#include <fcntl.h>
#include <sys/stat.h>

#include <signal.h>

#include <future>
#include <sstream>
#include <thread>

#include "daemon_harness.hpp"

namespace certkey::test {
namespace {

class Concurrency : public ::testing::Test {
 protected:
  // Starts the daemon with these pinentry rules, and two tokens with a certificate each.
  void start(DaemonOptions options) {
    dir_ = temp_dir();
    shown_ = dir_ + "/shown";
    release_ = dir_ + "/release";
    ::mkfifo(shown_.c_str(), 0600);
    ::mkfifo(release_.c_str(), 0600);
    options.shown_fifo = shown_;
    daemon_ = std::make_unique<Daemon>(options);
    const json tokens = Http(daemon_->port).get("/v1/tokens").body_json();
    usbkey_ = serial_on(tokens, "usbkey");
    sim_ = serial_on(tokens, "sim");
    ASSERT_TRUE(usbkey_ && sim_) << tokens.dump();
    provision_certificate(usbkey_, "usbkey holder");
    provision_certificate(sim_, "sim holder");
  }

  // A renewal of 9A on `serial`, on a connection of its own, answered later.
  std::future<HttpResponse> begin_renewal_async(std::uint32_t serial) {
    return std::async(std::launch::async, [port = daemon_->port, serial] {
      return Http(port).post("/v1/renewals", {{"token", serial}, {"certificate", "01"}});
    });
  }

  // Blocks until the scripted pinentry says a prompt is open and waiting.
  void wait_for_open_prompt() { EXPECT_EQ(read_line(shown_), "shown"); }
  static std::string read_line(const std::string& fifo) {
    std::string line;
    std::ifstream in(fifo);
    std::getline(in, line);
    return line;
  }
  void answer_prompt(const std::string& pin) { write_file(release_, pin + "\n"); }
  // Whether a prompt program the daemon started is still alive (the scripted pinentry logs
  // its pid).
  bool prompt_still_running() const {
    std::istringstream log(daemon_->prompts());
    for (std::string line; std::getline(log, line);) {
      if (line.rfind("pid: ", 0) == 0 && ::kill(std::stoi(line.substr(5)), 0) == 0) return true;
    }
    return false;
  }

  std::string dir_, shown_, release_;
  std::unique_ptr<Daemon> daemon_;
  std::uint32_t usbkey_ = 0, sim_ = 0;
};

TEST_F(Concurrency, PromptOpenOnOneToken_StallsNeitherReadsNorTheOtherToken) {
  // The USB KEY's prompt waits for the test; the SIM's answers at once. Rules match the
  // prompt's text, which names the token's serial.
  DaemonOptions options;
  start(options);
  daemon_->set_answers("(" + std::to_string(usbkey_) + ")\twait:" + release_ + "\npin:123456");
  std::future<HttpResponse> waiting = begin_renewal_async(usbkey_);
  wait_for_open_prompt();

  Http page(daemon_->port);
  const HttpResponse list = page.get("/v1/tokens");
  EXPECT_EQ(list.status, 200u) << "reads are not stalled by a prompt";
  const HttpResponse other = page.post("/v1/renewals", {{"token", sim_}, {"certificate", "01"}});
  EXPECT_EQ(other.status, 201u) << "the other token is not stalled: " << other.body;

  answer_prompt("123456");
  const HttpResponse first = waiting.get();
  EXPECT_EQ(first.status, 201u) << first.body;
}

TEST_F(Concurrency, PinentryThatNeverAnswers_EndsAtThePromptDeadline) {
  DaemonOptions options;
  options.pin_timeout_seconds = 1;
  options.answers = "hang";
  start(options);
  std::future<HttpResponse> renewal = begin_renewal_async(usbkey_);
  wait_for_open_prompt();
  const HttpResponse r = renewal.get();
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(r.error_code(), "pin_prompt_timed_out") << r.body;
  EXPECT_NE(r.body_json()["error"]["message_zh"].get<std::string>(), "");
  EXPECT_FALSE(prompt_still_running()) << "the program was ended, not left behind";
  EXPECT_EQ(daemon_->audit(),
            std::vector<std::string>{"beginRenewal " + std::string(kPortal) +
                                     " pin_prompt_timed_out " + std::to_string(usbkey_)});
}

TEST_F(Concurrency, OperationDeadline_AnswersEvenWhileThePromptIsOpen) {
  DaemonOptions options;
  options.operation_seconds = 1;
  options.answers = "hang";
  start(options);
  std::future<HttpResponse> renewal = begin_renewal_async(usbkey_);
  wait_for_open_prompt();
  const HttpResponse r = renewal.get();
  EXPECT_EQ(r.status, 504u);
  EXPECT_EQ(r.error_code(), "operation_timed_out") << r.body;
  // The deadline also closes the prompt; the token's queue is free for the next command.
  daemon_->set_answers("pin:123456");
  EXPECT_EQ(
      Http(daemon_->port).post("/v1/renewals", {{"token", usbkey_}, {"certificate", "01"}}).status,
      201u);
}

TEST_F(Concurrency, SigtermDuringAPrompt_EndsItAndExitsWithinTheBound) {
  DaemonOptions options;
  options.answers = "hang";
  options.shutdown_seconds = 10;
  start(options);
  std::future<HttpResponse> renewal = begin_renewal_async(usbkey_);
  wait_for_open_prompt();
  std::chrono::milliseconds elapsed{};
  EXPECT_EQ(daemon_->terminate(&elapsed), 0) << daemon_->log();
  EXPECT_LT(elapsed, std::chrono::seconds(options.shutdown_seconds)) << "the documented bound";
  const HttpResponse r = renewal.get();
  EXPECT_EQ(r.error_code(), "daemon_stopping") << r.body;
  EXPECT_NE(daemon_->log().find("beginRenewal on token " + std::to_string(usbkey_) +
                                ": cancelled (its PIN prompt was closed)"),
            std::string::npos)
      << daemon_->log();
  EXPECT_FALSE(prompt_still_running());
}

}  // namespace
}  // namespace certkey::test

namespace certkey::test {
namespace {

// SIGTERM the moment the daemon is ready: its slot-event thread has just begun to wait in
// the module, and C_Finalize must end that wait however close the two calls come (pcsc-lite
// cancels only a wait that has begun; docs/pkcs11.md, C_Finalize). A lost cancel hangs the
// daemon, and ctest's timeout fails the test.
TEST(Lifecycle, SigtermRightAfterStart_EndsTheDaemonEveryTime) {
  for (int round = 0; round < 20; ++round) {
    Daemon daemon;
    ASSERT_EQ(daemon.terminate(), 0) << "round " << round << "\n" << daemon.log();
  }
}

}  // namespace
}  // namespace certkey::test
