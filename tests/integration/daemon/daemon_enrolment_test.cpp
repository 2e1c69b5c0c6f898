// Renewal through the CA's server (docs/daemon.md, "Renewal through the CA's server";
// docs/test-ca.md): `certkey renew --est` and `certkey renew --ca-url` against
// examples/ca's certkey-test-ca on loopback, serving the test's own CA. certkeyd runs the whole
// renewal: the new key, the request to the server over TLS (EST authenticating with the
// current certificate, its key signing the handshake on the token), the issued certificate
// checked and made current. Checked from outside: a fresh pkcs11-tool process signs with the
// new key in 01 and the new certificate is the server's.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_renewal_fixture.hpp"

namespace certkey::test {
namespace {

// certkey-test-ca serving `ca_dir`; its ports come through a FIFO, so nothing waits on time.
class TestCaServer {
 public:
  explicit TestCaServer(const std::string& ca_dir) {
    const std::string fifo = ca_dir + "/ports";
    ::unlink(fifo.c_str());
    ::mkfifo(fifo.c_str(), 0600);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int log = ::open((ca_dir + "/server.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, STDERR_FILENO);
      const std::string program = build_dir() + "/examples/ca/certkey-test-ca";
      ::execl(program.c_str(), program.c_str(), "serve", "--ca-dir", ca_dir.c_str(), "--port-file",
              fifo.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    const json ports = json::parse(read_file(fifo), nullptr, false);
    if (!ports.is_object())
      throw std::runtime_error("certkey-test-ca did not start:\n" +
                               read_file(ca_dir + "/server.log"));
    base = "https://127.0.0.1:" + std::to_string(ports["https"].get<unsigned>());
    log_path = ca_dir + "/server.log";
  }
  ~TestCaServer() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  TestCaServer(const TestCaServer&) = delete;
  TestCaServer& operator=(const TestCaServer&) = delete;

  std::string base;
  std::string log_path;

 private:
  pid_t pid_ = -1;
};

class Enrolment : public RenewalFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(prepare(GetParam())); }

  CliRun renew(const std::string& how) {
    return run_certkey(daemon_->runtime_dir,
                       "--token " + std::to_string(serial_) + " renew " + how);
  }

  // The certificate now in 01, as PEM, and whether the server issued it (its issuer and the
  // server's OCSP URL).
  std::string current_pem() {
    write_file(dir_ + "/current.der", certificate_in("01"));
    return shell_output("openssl x509 -inform DER -in " + dir_ + "/current.der");
  }
  // Each recorded renewal's state ("ID STATE CERTIFICATE KEY" in the database).
  std::vector<std::string> states() const {
    std::vector<std::string> out;
    for (const std::string& row : daemon_->renewal_states()) {
      const std::size_t from = row.find(' ') + 1;
      out.push_back(row.substr(from, row.find(' ', from) - from));
    }
    return out;
  }

  void killed_at_then_taken_up(const std::string& step) {
    TestCaServer server(ca_.dir);
    options_.fault_point = step;
    start_daemon();
    const CliRun killed = renew("--est " + server.base);
    EXPECT_NE(killed.status, 0) << killed.out;
    EXPECT_EQ(daemon_->wait_exit(), 86) << daemon_->log();
    ASSERT_EQ(states(), std::vector<std::string>{"awaiting_certificate"}) << daemon_->log();
    EXPECT_EQ(certificate_in("01"), der_of_pem(old_pem_)) << "nothing written";

    restart_daemon();
    const CliRun resumed = renew("--est " + server.base);
    ASSERT_EQ(resumed.status, 0) << resumed.out << resumed.err << daemon_->log();
    EXPECT_EQ(states(), std::vector<std::string>{"current"}) << "the same renewal, taken up";
    EXPECT_TRUE(signs_with("01", current_pem()));
  }

  std::size_t prompts_for_pin() const {
    const std::string log = daemon_->prompts();
    std::size_t count = 0;
    for (std::size_t at = log.find("asks for the PIN"); at != std::string::npos;
         at = log.find("asks for the PIN", at + 1)) {
      ++count;
    }
    return count;
  }
  bool issued_by_server(const std::string& pem) {
    write_file(dir_ + "/issued.pem", pem);
    return shell_output("openssl x509 -in " + dir_ + "/issued.pem -noout -ocsp_uri")
               .rfind("http://127.0.0.1:", 0) == 0;
  }
};

TEST_P(Enrolment, Est_TheNewCertificateIsCurrent_AndTheOldKeyAuthenticatedTheRequest) {
  start_daemon();
  TestCaServer server(ca_.dir);
  const CliRun r = renew("--est " + server.base + "/.well-known/est");
  ASSERT_EQ(r.status, 0) << r.out << r.err << daemon_->log() << read_file(server.log_path);
  EXPECT_NE(r.out.find("The new certificate is current in slot 01"), std::string::npos) << r.out;
  EXPECT_NE(read_file(server.log_path).find("POST /.well-known/est/simplereenroll -> 200"),
            std::string::npos);
  const std::string renewed = current_pem();
  EXPECT_NE(renewed, old_pem_);
  EXPECT_TRUE(issued_by_server(renewed)) << renewed;
  EXPECT_TRUE(signs_with("01", renewed)) << "a fresh process signs with the new key in 01";
  EXPECT_EQ(states(), std::vector<std::string>{"current"}) << daemon_->log();
  EXPECT_EQ(prompts_for_pin(), 1u) << "one PIN for the whole renewal: " << daemon_->prompts();
}

TEST_P(Enrolment, CaEndpoint_TakesTheRequestWithItsAuthorization_JsonOutputHasTheApisSchema) {
  start_daemon();
  TestCaServer server(ca_.dir);
  const CliRun r = renew("--json --ca-url " + server.base + "/renewal");
  ASSERT_EQ(r.status, 0) << r.out << r.err << daemon_->log() << read_file(server.log_path);
  const json printed = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(conforms_to_schema("RenewalEnvelope", printed)) << r.out;
  EXPECT_EQ(printed["renewal"]["state"], "current") << r.out;
  const std::string renewed = current_pem();
  EXPECT_TRUE(issued_by_server(renewed)) << renewed;
  EXPECT_TRUE(signs_with("01", renewed));
}

// Killed before the request goes out, or after the CA answered but before anything was
// written: the renewal waits, recorded, and the next `certkey renew --est` takes it up (the
// CA issues again for the same request) and makes it current.
TEST_P(Enrolment, KilledBeforeTheRequest_TheNextRunTakesTheRenewalUp) {
  killed_at_then_taken_up("enrolling");
}
TEST_P(Enrolment, KilledAfterTheAnswer_TheNextRunTakesTheRenewalUp) {
  killed_at_then_taken_up("enrolling.done");
}

INSTANTIATE_TEST_SUITE_P(Media, Enrolment, ::testing::Values("usbkey", "sim", "sdkey"));

// What goes wrong, on one medium: each failure leaves the renewal awaiting its certificate,
// and the next run takes it up rather than making another key.
class EnrolmentRefused : public Enrolment {};

TEST_P(EnrolmentRefused, ServerDown_ThenUp_TheSameRenewalIsTakenUp) {
  start_daemon();
  const CliRun down = renew("--est https://127.0.0.1:9/.well-known/est");
  EXPECT_EQ(down.status, 4) << down.out << down.err;
  EXPECT_NE(down.err.find("could not be reached"), std::string::npos) << down.err;
  ASSERT_EQ(states(), std::vector<std::string>{"awaiting_certificate"});
  EXPECT_TRUE(signs_with("01", old_pem_)) << "the old certificate still works";

  TestCaServer server(ca_.dir);
  const CliRun up = renew("--est " + server.base);
  ASSERT_EQ(up.status, 0) << up.out << up.err << daemon_->log();
  EXPECT_EQ(states(), std::vector<std::string>{"current"}) << "one renewal, taken up";
}

TEST_P(EnrolmentRefused, AClientCertificateFromAnotherCa_IsRefusedByTheEstServer) {
  const TestCa other("another");
  old_pem_ = provision_certificate(serial_, "renewal holder", other);
  options_.trust_anchors = {other.root_path()};
  start_daemon();
  options_.trust_anchors.push_back(ca_.root_path());  // the server's CA too, so TLS reaches it
  restart_daemon();
  TestCaServer server(ca_.dir);
  const CliRun r = renew("--est " + server.base + "/.well-known/est");
  EXPECT_EQ(r.status, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("did not issue the certificate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HTTP 403: the client certificate was not issued by this CA"),
            std::string::npos)
      << r.err;
  EXPECT_NE(read_file(server.log_path).find("simplereenroll -> 403"), std::string::npos);
  EXPECT_EQ(states(), std::vector<std::string>{"awaiting_certificate"});
  EXPECT_EQ(certificate_in("01"), der_of_pem(old_pem_)) << "nothing changed on the token";
}

TEST_P(EnrolmentRefused, AServerOutsideTheAnchors_IsNotTalkedTo) {
  const TestCa unrelated("unrelated");
  start_daemon();
  TestCaServer server(unrelated.dir);
  const CliRun r = renew("--est " + server.base);
  EXPECT_EQ(r.status, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("could not be reached"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(server.log_path).find("simplereenroll"), std::string::npos)
      << "no request was sent";
}

// Relayed by the extension or over HTTP, a web page is refused before anything is begun or
// sent: it may not have the daemon connect elsewhere with the holder's key.
TEST_P(EnrolmentRefused, AWebPage_MayNotHaveTheDaemonEnrol) {
  start_daemon();
  const json relayed =
      unix_call("enrollRenewal", {{"token", serial_}, {"url", "https://127.0.0.1:9/"}},
                {{"origin", kPortal}});
  EXPECT_EQ(relayed["status"], 403) << relayed.dump();
  EXPECT_EQ(relayed["error"]["code"], "origin_not_allowed") << relayed.dump();
  EXPECT_EQ(states(), std::vector<std::string>{}) << "nothing was begun";

  const json begun = begin();
  ASSERT_EQ(begun["status"], 201) << begun.dump();
  Http http(daemon_->port);
  const std::string target =
      "/v1/renewals/" + begun["body"]["renewal"]["id"].get<std::string>() + "/enroll";
  const HttpResponse r = http.post(target, {{"url", "https://127.0.0.1:9/"}});
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_TRUE(conforms("/v1/renewals/{id}/enroll", "post", r.status, r.body_json()));
  EXPECT_EQ(states(), std::vector<std::string>{"awaiting_certificate"});
}

INSTANTIATE_TEST_SUITE_P(Media, EnrolmentRefused, ::testing::Values("usbkey"));

}  // namespace
}  // namespace certkey::test
