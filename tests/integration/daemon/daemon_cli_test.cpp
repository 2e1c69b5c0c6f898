// certkey, the desk user's command (docs/cli.md), against certkeyd on simulated tokens: its
// human output in English and in Chinese (from LANG alone: no Chinese locale is generated
// here), its --json output checked against the API's schemas, the "not running" hint and
// the documented exit codes, the diagnosis of a blocked PIN, and events as they happen.
// Runs in tests/harness/with-tokens --media usbkey,sim,sdkey.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>

#include "daemon_harness.hpp"

namespace certkey::test {
namespace {

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>();
    serial_ = serial_on(Http(daemon_->port).get("/v1/tokens").body_json(), "usbkey");
    ASSERT_NE(serial_, 0u);
  }
  void TearDown() override {
    if (HasFailure() && daemon_) std::printf("certkeyd's log:\n%s\n", daemon_->log().c_str());
  }

  // certkey ARGS with LANG=`lang`, talking to this test's daemon unless `runtime_dir` says
  // otherwise.
  CliRun certkey(const std::string& args, const std::string& lang = "C.UTF-8",
                 const std::string& runtime_dir = "") {
    return run_certkey(runtime_dir.empty() ? daemon_->runtime_dir : runtime_dir, args, lang);
  }

  std::string p11() const {
    return "pkcs11-tool --module " + build_dir() +
           "/pkcs11-module/src/libcertkey-pkcs11.so --token-label 'certkey " +
           std::to_string(serial_) + "'";
  }

  std::unique_ptr<Daemon> daemon_;
  std::uint32_t serial_ = 0;
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(Cli, Status_ShowsTokensPinStateAndCertificates_InEnglishAndInChinese) {
  provision_certificate(serial_, "desk holder");
  const CliRun en = certkey("status");
  EXPECT_EQ(en.status, 0) << en.err;
  EXPECT_TRUE(has(en.out, "USB KEY " + std::to_string(serial_) + " in \"certkey token1 00 00\""))
      << en.out;
  EXPECT_TRUE(has(en.out, "PIN: ok, 3 tries left")) << en.out;
  EXPECT_TRUE(has(en.out, "01  CN=desk holder\n      valid until ")) << en.out;
  EXPECT_TRUE(has(en.out, "days left); chain not checked, revocation not checked")) << en.out;
  EXPECT_TRUE(has(en.out, "SD KEY ")) << en.out;
  EXPECT_TRUE(has(en.out, "no certificate")) << en.out;

  const CliRun zh = certkey("status", "zh_CN.UTF-8");
  EXPECT_EQ(zh.status, 0) << zh.err;
  EXPECT_TRUE(
      has(zh.out, "USB KEY " + std::to_string(serial_) + "，读卡器「certkey token1 00 00」"))
      << zh.out;
  EXPECT_TRUE(has(zh.out, "PIN：正常，剩余 3 次尝试")) << zh.out;
  EXPECT_TRUE(has(zh.out, "有效期至 ")) << zh.out;
  EXPECT_TRUE(has(zh.out, "SIM 卡")) << zh.out;
  EXPECT_TRUE(has(zh.out, "无证书")) << zh.out;
}

TEST_F(Cli, Json_IsTheApisAnswers) {
  provision_certificate(serial_, "desk holder");
  const CliRun status = certkey("status --json");
  ASSERT_EQ(status.status, 0) << status.err;
  const json both = json::parse(status.out);
  EXPECT_TRUE(conforms_to_schema("TokenList", {{"tokens", both["tokens"]}}));
  EXPECT_TRUE(
      conforms_to_schema("CertificateStatusList", {{"certificates", both["certificates"]}}));
  EXPECT_EQ(both["tokens"].size(), 3u) << status.out;
  ASSERT_EQ(both["certificates"].size(), 1u) << status.out;
  EXPECT_EQ(both["certificates"][0]["subject"], "CN=desk holder");

  const CliRun list = certkey("--json list");  // options go before or after the command
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_TRUE(conforms_to_schema("TokenList", json::parse(list.out)));

  const CliRun diagnosis = certkey("diagnose --json");
  EXPECT_EQ(diagnosis.status, 0) << diagnosis.out;
  EXPECT_TRUE(conforms_to_schema("FindingList", json::parse(diagnosis.out)));
}

TEST_F(Cli, DaemonNotRunning_SaysSoAndHowToStartIt_ExitThree) {
  const std::string nowhere = temp_dir();
  const CliRun en = certkey("status", "C.UTF-8", nowhere);
  EXPECT_EQ(en.status, 3);
  EXPECT_EQ(en.out, "");
  EXPECT_TRUE(has(en.err, "certkeyd is not running (" + nowhere + "/certkey/certkeyd.sock: "))
      << en.err;
  EXPECT_TRUE(has(en.err, "Start it first: certkeyd &")) << en.err;
  const CliRun zh = certkey("status", "zh_CN.UTF-8", nowhere);
  EXPECT_EQ(zh.status, 3);
  EXPECT_TRUE(has(zh.err, "certkeyd 未运行")) << zh.err;
}

TEST_F(Cli, Usage_ExitTwo_AndHelpForEachCommand) {
  EXPECT_EQ(certkey("").status, 2);
  EXPECT_EQ(certkey("renew-everything").status, 2);
  EXPECT_EQ(certkey("status --pin 123456").status, 2) << "no PIN on argv, ever";
  const CliRun help = certkey("--help");
  EXPECT_EQ(help.status, 0);
  EXPECT_TRUE(has(help.out, "Exit status: 0 done, 1 the diagnosis found an error")) << help.out;
  for (const char* command : {"status", "list", "diagnose", "events"}) {
    const CliRun one = certkey(std::string(command) + " --help");
    EXPECT_EQ(one.status, 0);
    EXPECT_TRUE(has(one.out, std::string("usage: certkey [--json] ") + command)) << one.out;
  }
  for (const char* command : {"change-pin", "unblock", "unlock"}) {
    const CliRun one = certkey(std::string(command) + " --help");
    EXPECT_EQ(one.status, 0);
    EXPECT_TRUE(has(one.out, std::string("usage: certkey [--token SERIAL] ") + command)) << one.out;
  }
  // Three tokens are plugged in here: a token command must be told which.
  const CliRun which = certkey("change-pin");
  EXPECT_EQ(which.status, 2) << which.err;
  EXPECT_TRUE(has(which.err, "Several tokens are plugged in; choose one with --token SERIAL:"))
      << which.err;
  EXPECT_TRUE(has(which.err, "USB KEY " + std::to_string(serial_))) << which.err;
  const CliRun unknown = certkey("--token 1 change-pin");
  EXPECT_EQ(unknown.status, 4) << unknown.err;
  EXPECT_TRUE(has(unknown.err, "No token with serial 1 is plugged in.")) << unknown.err;
  EXPECT_EQ(daemon_->prompts(), "") << "nothing was asked";
}

TEST_F(Cli, Diagnose_BlockedPin_IsAnErrorWithItsHint_ExitOne) {
  for (int i = 0; i < 3; ++i)
    shell(p11() + " --login --pin 00000000 --list-objects >/dev/null 2>&1");
  const CliRun en = certkey("diagnose");
  EXPECT_EQ(en.status, 1) << en.out;
  EXPECT_TRUE(has(en.out, "[error]")) << en.out;
  EXPECT_TRUE(has(en.out, "-> Unblock it with the PUK")) << en.out;
  const CliRun zh = certkey("diagnose", "zh_CN.UTF-8");
  EXPECT_EQ(zh.status, 1) << zh.out;
  EXPECT_TRUE(has(zh.out, "[错误]")) << zh.out;

  const CliRun status = certkey("status");
  EXPECT_TRUE(
      has(status.out, "PIN: blocked (unblock it with the PUK, or remotely with the help desk)"))
      << status.out;
}

// `certkey events` says it is waiting once it is subscribed, so the token is pulled only
// then: no race, no sleep.
TEST_F(Cli, Events_FollowsAPulledToken) {
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::setenv("LANG", "C.UTF-8", 1);
    ::setenv("XDG_RUNTIME_DIR", daemon_->runtime_dir.c_str(), 1);
    const std::string program = build_dir() + "/daemon/certkey";
    ::execl(program.c_str(), program.c_str(), "events", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  FILE* lines = ::fdopen(out[0], "r");
  char line[512];
  ASSERT_NE(std::fgets(line, sizeof line, lines), nullptr);
  EXPECT_STREQ(line, "Waiting for events (Ctrl-C ends)...\n");
  sim("remove token1");
  std::string heard;
  while (std::fgets(line, sizeof line, lines) && !has(heard = line, "pulled out")) {
  }
  EXPECT_TRUE(std::regex_match(
      heard, std::regex("^[0-9]{2}:[0-9]{2}:[0-9]{2}  USB KEY " + std::to_string(serial_) +
                        " in \"certkey token1 00 00\": pulled out\n$")))
      << heard;
  ::kill(child, SIGTERM);
  ::waitpid(child, nullptr, 0);
  std::fclose(lines);
}

}  // namespace
}  // namespace certkey::test
