// certkeyd's one-step diagnosis (GET /v1/diagnosis) and certificate status (GET
// /v1/certificates) end to end (docs/daemon.md, "Diagnosis" and "Certificate status"): the
// daemon, the module, pcscd and the simulated tokens, and a test CA whose `openssl ocsp`
// responder runs on loopback (tests/unit/daemon/certs/test_pki.hpp). pcscd stopped, a blocked
// PIN, expired and not yet valid certificates, and revoked ones each give their finding;
// a responder that cannot be reached gives `unknown`, never an error. Runs in
// tests/harness/with-tokens --media usbkey,sim,sdkey; DiagnosisNoReader runs with --tokens 0,
// a pcscd without any reader.
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>

#include "daemon_harness.hpp"
#include "test_pki.hpp"

namespace certkey::test {
namespace {

std::string module_path() { return build_dir() + "/pkcs11-module/src/libcertkey-pkcs11.so"; }

// pkcs11-tool on the token with this serial, through certkey's module.
std::string p11(std::uint32_t serial) {
  return "pkcs11-tool --module " + module_path() + " --token-label " +
         quoted("certkey " + std::to_string(serial));
}

// The findings of `check`, about `token` when one is given.
std::vector<json> findings_of(const json& diagnosis, const std::string& check,
                              std::optional<std::uint32_t> token = {}) {
  std::vector<json> out;
  for (const json& f : diagnosis["findings"]) {
    if (f["check"] != check) continue;
    if (token && f.value("token", json()) != *token) continue;
    out.push_back(f);
  }
  return out;
}

// The one finding of `check` (about `token`); null when there is none or more than one.
json finding(const json& diagnosis, const std::string& check,
             std::optional<std::uint32_t> token = {}) {
  const std::vector<json> all = findings_of(diagnosis, check, token);
  return all.size() == 1 ? all.front() : json();
}

// Its status, or what is wrong with asking for it.
std::string status_of(const json& diagnosis, const std::string& check,
                      std::optional<std::uint32_t> token = {}) {
  const std::vector<json> all = findings_of(diagnosis, check, token);
  if (all.size() != 1) return std::to_string(all.size()) + " findings";
  return all.front()["status"];
}

bool contains(const json& text, const std::string& part) {
  return text.is_string() && text.get<std::string>().find(part) != std::string::npos;
}

// Stops the process (not ours: the harness started it) and returns once it is gone, as its
// pidfd says; the bound is for a failure, not a wait.
::testing::AssertionResult stop_and_wait(pid_t pid) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0)
    return ::testing::AssertionFailure() << "pidfd_open(" << pid << "): " << std::strerror(errno);
  ::kill(pid, SIGTERM);
  pollfd gone{pidfd, POLLIN, 0};
  const int ready = ::poll(&gone, 1, 30'000);
  ::close(pidfd);
  if (ready != 1) return ::testing::AssertionFailure() << "process " << pid << " did not exit";
  return ::testing::AssertionSuccess();
}

// A test CA with an `openssl ocsp` responder for its issuing CA, signing with the issuing CA's
// own key (RFC 6960 §4.2.2.2), on a free loopback port; certificates it issues with
// options() name that responder in their AIA.
class OcspCa {
 public:
  OcspCa()
      : responder_({"-index", ca.dir + "/index.txt", "-CA", ca.issuing_path(), "-rsigner",
                    ca.issuing_path(), "-rkey", ca.dir + "/issuing.key", "-ignore_err"},
                   ca.dir + "/ocsp.log") {
    responder_.start();
  }

  TestCa::Options options() const { return {.ocsp_url = responder_.url()}; }
  std::string url() const { return responder_.url(); }
  void stop() { responder_.stop(); }

  // The responder reads the CA's index again before it takes the next connection, so the
  // first answer after the index changed may be the old one: ask (with the command-line
  // client) until it gives `expected` ("good", "revoked"). Each round is a real request, not
  // a wait; before it says so, the daemon would hear the old answer and cache it.
  ::testing::AssertionResult await_answer(const std::string& certificate_pem,
                                          const std::string& expected) const {
    write_file(ca.dir + "/asked.pem", certificate_pem);
    const std::string ask = "openssl ocsp -issuer " + quoted(ca.issuing_path()) + " -cert " +
                            quoted(ca.dir + "/asked.pem") + " -url " + responder_.url() +
                            " -noverify -timeout 5 2>&1";
    std::string heard;
    for (int round = 0; round < 5; ++round) {
      heard = shell_output(ask);
      if (heard.find(": " + expected) != std::string::npos) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << "the responder never said " << expected << ": " << heard;
  }

  TestCa ca;

 private:
  OcspResponder responder_;
};

class Diagnosis : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && daemon_) std::printf("certkeyd's log:\n%s\n", daemon_->log().c_str());
    page_.reset();
    daemon_.reset();
  }

  void start(DaemonOptions options = {}) {
    page_.reset();
    if (daemon_ && daemon_->running()) EXPECT_EQ(daemon_->terminate(), 0) << daemon_->log();
    daemon_ = std::make_unique<Daemon>(std::move(options));
    page_ = std::make_unique<Http>(daemon_->port);
  }

  // A daemon that trusts `ca`: its root as the anchor, its issuing CA as an intermediate.
  void start_trusting(const TestCa& ca) {
    DaemonOptions options;
    options.trust_anchors = {ca.root_path()};
    options.intermediates = {ca.issuing_path()};
    start(options);
  }

  std::uint32_t serial(const std::string& medium) {
    const std::uint32_t s = serial_on(page_->get("/v1/tokens").body_json(), medium);
    EXPECT_NE(s, 0u) << "no " << medium << " token";
    return s;
  }

  // GET `target`: a 200 whose body conforms to the OpenAPI description.
  json get(const std::string& target) {
    const HttpResponse r = page_->get(target);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
    const json body = r.body_json();
    EXPECT_TRUE(conforms(target, "get", 200, body));
    return body;
  }
  json diagnose() { return get("/v1/diagnosis"); }
  json certificates() { return get("/v1/certificates"); }

  // The certificates of one token, from GET /v1/certificates.
  std::vector<json> certificates_of(std::uint32_t token) {
    std::vector<json> out;
    const json listed = certificates();
    for (const json& c : listed["certificates"]) {
      if (c["token"] == token) out.push_back(c);
    }
    return out;
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Http> page_;
};

// Every finding says something in both languages, and has a hint (in both) when it is not ok.
void expect_said_in_both_languages(const json& diagnosis) {
  for (const json& f : diagnosis["findings"]) {
    EXPECT_FALSE(f.value("message", "").empty()) << f.dump();
    EXPECT_FALSE(f.value("message_zh", "").empty()) << f.dump();
    EXPECT_EQ(f.contains("hint"), f.contains("hint_zh")) << f.dump();
    if (f["status"] == "warning" || f["status"] == "error")
      EXPECT_TRUE(f.contains("hint")) << f.dump();
  }
}

TEST_F(Diagnosis, EverythingFine_EveryFindingIsOk) {
  OcspCa issuer;
  start_trusting(issuer.ca);
  const std::uint32_t usbkey = serial("usbkey"), sim = serial("sim"), sdkey = serial("sdkey");
  const std::string certificate =
      provision_certificate(usbkey, "fine holder", issuer.ca, issuer.options());
  ASSERT_TRUE(issuer.await_answer(certificate, "good"));
  // A token as its holder keeps it: neither the PIN nor the PUK is the one it came with.
  for (const std::uint32_t token : {usbkey, sim, sdkey}) {
    ASSERT_EQ(
        shell(p11(token) + " --login --pin 123456 --change-pin --new-pin 86420975 >/dev/null 2>&1"),
        0);
    ASSERT_EQ(shell(p11(token) +
                    " --login --login-type so --so-pin 12345678 --change-pin --new-pin 87654321 "
                    ">/dev/null 2>&1"),
              0);
  }

  const json d = diagnose();
  const std::string all = d.dump(2);
  for (const json& f : d["findings"]) EXPECT_EQ(f["status"], "ok") << all;
  std::multiset<std::string> checks;
  for (const json& f : d["findings"]) checks.insert(f["check"]);
  EXPECT_EQ(checks, (std::multiset<std::string>{"pcscd", "readers", "usbkey_driver", "sdkey_driver",
                                                "token", "token", "token", "pin", "pin", "pin",
                                                "puk", "puk", "puk", "certificate", "clock"}))
      << all;
  for (const std::uint32_t token : {usbkey, sim, sdkey}) {
    EXPECT_EQ(status_of(d, "token", token), "ok") << all;
    EXPECT_EQ(status_of(d, "pin", token), "ok") << all;
    EXPECT_EQ(status_of(d, "puk", token), "ok") << all;
  }
  EXPECT_TRUE(contains(finding(d, "pcscd")["message"], "is running")) << all;
  EXPECT_TRUE(contains(finding(d, "readers")["message"], "certkey token1 00 00")) << all;
  json cert = finding(d, "certificate", usbkey);
  EXPECT_EQ(cert["certificate"], "01") << all;
  EXPECT_TRUE(contains(cert["message"], "\"CN=fine holder\" is valid until")) << all;
  EXPECT_TRUE(contains(finding(d, "clock")["message"], "agrees")) << all;
  expect_said_in_both_languages(d);

  const std::vector<json> listed = certificates_of(usbkey);
  ASSERT_EQ(listed.size(), 1u) << certificates().dump(2);
  EXPECT_EQ(listed[0]["chain"], "valid");
  EXPECT_EQ(listed[0]["revocation"], "good") << listed[0].dump();
}

TEST_F(Diagnosis, PcscdStopped_IsAnError_AndTheDaemonKeepsAnswering) {
  start();
  const pid_t pcscd = static_cast<pid_t>(std::stol(read_file(env("CERTKEY_PCSCD_PID_FILE"))));
  ASSERT_TRUE(stop_and_wait(pcscd));

  json d = diagnose();
  std::string all = d.dump(2);
  json pcsc = finding(d, "pcscd");
  EXPECT_EQ(pcsc["status"], "error") << all;
  EXPECT_TRUE(contains(pcsc["message"], "cannot be reached")) << all;
  EXPECT_TRUE(contains(pcsc["hint"], "systemctl start pcscd")) << all;
  EXPECT_TRUE(contains(pcsc["message_zh"], "pcscd")) << all;
  EXPECT_EQ(status_of(d, "clock"), "ok") << all;
  expect_said_in_both_languages(d);
  // Still serving: the token list and the certificate status answer too.
  EXPECT_EQ(page_->get("/v1/tokens").status, 200u);
  certificates();

  // pcscd back (the harness's restart waits until it sees every token again): so is the
  // diagnosis.
  ASSERT_EQ(shell(env("CERTKEY_RESTART_PCSCD") + " 2>/dev/null"), 0);
  d = diagnose();
  all = d.dump(2);
  EXPECT_EQ(status_of(d, "pcscd"), "ok") << all;
  EXPECT_EQ(status_of(d, "readers"), "ok") << all;
  EXPECT_TRUE(daemon_->running());
  EXPECT_EQ(daemon_->terminate(), 0) << daemon_->log();
}

TEST_F(Diagnosis, BlockedPin_IsAnError_WithTheWayOut) {
  start();
  const std::uint32_t usbkey = serial("usbkey");
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(shell(p11(usbkey) + " --login --pin 999999 --list-objects >/dev/null 2>&1"), 0)
        << "wrong PIN " << i;
  }
  const json d = diagnose();
  const std::string all = d.dump(2);
  json pin = finding(d, "pin", usbkey);
  EXPECT_EQ(pin["status"], "error") << all;
  EXPECT_EQ(pin["message"], "The PIN is locked.") << all;
  EXPECT_TRUE(contains(pin["hint"], "PUK")) << all;
  EXPECT_TRUE(contains(pin["hint"], "help desk")) << all;
  EXPECT_TRUE(contains(pin["hint_zh"], "PUK")) << all;
  EXPECT_EQ(status_of(d, "token", usbkey), "ok") << "it answers, blocked or not\n" << all;
  // The other tokens' PINs are untouched: usable, only still the default.
  for (const char* medium : {"sim", "sdkey"}) {
    json other = finding(d, "pin", serial(medium));
    EXPECT_EQ(other["status"], "warning") << medium << "\n" << all;
    EXPECT_TRUE(contains(other["message"], "still the one the token came with")) << all;
  }
  expect_said_in_both_languages(d);
}

TEST_F(Diagnosis, ExpiredCertificate_IsAnError) {
  TestCa ca;
  start_trusting(ca);
  const std::uint32_t usbkey = serial("usbkey");
  provision_certificate(usbkey, "expired holder", ca,
                        {.start = "20200101000000Z", .end = "20210101000000Z"});

  const json d = diagnose();
  const std::string all = d.dump(2);
  json cert = finding(d, "certificate", usbkey);
  EXPECT_EQ(cert["status"], "error") << all;
  EXPECT_EQ(cert["certificate"], "01") << all;
  EXPECT_EQ(cert["message"],
            "The certificate \"CN=expired holder\" expired on 2021-01-01T00:00:00Z.")
      << all;
  EXPECT_TRUE(contains(cert["hint"], "new certificate")) << all;
  EXPECT_TRUE(contains(cert["message_zh"], "过期")) << all;
  EXPECT_EQ(status_of(d, "clock"), "ok") << all;
  expect_said_in_both_languages(d);

  const std::vector<json> listed = certificates_of(usbkey);
  ASSERT_EQ(listed.size(), 1u) << certificates().dump(2);
  EXPECT_EQ(listed[0]["id"], "01");
  EXPECT_EQ(listed[0]["not_after"], "2021-01-01T00:00:00Z");
  EXPECT_EQ(listed[0]["chain"], "expired") << listed[0].dump();
  EXPECT_EQ(listed[0]["revocation"], "not_checked") << listed[0].dump();
}

TEST_F(Diagnosis, CertificateNotYetValid_IsAnError_AndTheClockAWarning) {
  TestCa ca;
  start_trusting(ca);
  const std::uint32_t usbkey = serial("usbkey");
  provision_certificate(usbkey, "future holder", ca,
                        {.start = "20300101000000Z", .end = "20310101000000Z"});

  const json d = diagnose();
  const std::string all = d.dump(2);
  json cert = finding(d, "certificate", usbkey);
  EXPECT_EQ(cert["status"], "error") << all;
  EXPECT_EQ(cert["message"],
            "The certificate \"CN=future holder\" is not valid before 2030-01-01T00:00:00Z.")
      << all;
  json clock = finding(d, "clock");
  EXPECT_EQ(clock["status"], "warning") << all;
  EXPECT_TRUE(contains(clock["message"],
                       "earlier than the start of the certificate \"CN=future holder\" "
                       "(2030-01-01T00:00:00Z)"))
      << all;
  EXPECT_TRUE(contains(clock["hint"], "date and time")) << all;
  expect_said_in_both_languages(d);

  const std::vector<json> listed = certificates_of(usbkey);
  ASSERT_EQ(listed.size(), 1u) << certificates().dump(2);
  EXPECT_EQ(listed[0]["chain"], "not_yet_valid") << listed[0].dump();
  EXPECT_EQ(listed[0]["revocation"], "not_checked") << listed[0].dump();
}

TEST_F(Diagnosis, UsbKeyAndSdKey_AreServedByCertkeysDrivers) {
  start();
  const json d = diagnose();
  const std::string all = d.dump(2);
  json usb = finding(d, "usbkey_driver");
  EXPECT_EQ(usb["status"], "ok") << all;
  EXPECT_EQ(usb["message"], "certkey's USB KEY driver is loaded.") << all;
  json sd = finding(d, "sdkey_driver");
  EXPECT_EQ(sd["status"], "ok") << all;
  EXPECT_EQ(sd["message"], "certkey's SD KEY driver is loaded.") << all;
  // Each token answers in its own reader, and no card is left unexplained.
  for (const char* medium : {"usbkey", "sim", "sdkey"}) {
    json token = finding(d, "token", serial(medium));
    EXPECT_EQ(token["status"], "ok") << medium << "\n" << all;
    EXPECT_TRUE(contains(token["message"], "answers in \"certkey token")) << all;
  }
  EXPECT_TRUE(findings_of(d, "card").empty()) << all;
  expect_said_in_both_languages(d);
}

// pcscd without a single reader (with-tokens --tokens 0).
TEST(DiagnosisNoReader, NoReaderAtAll_IsAWarning) {
  Daemon daemon;
  Http page(daemon.port);
  const HttpResponse r = page.get("/v1/diagnosis");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json d = r.body_json();
  EXPECT_TRUE(conforms("/v1/diagnosis", "get", 200, d));
  const std::string all = d.dump(2);
  EXPECT_EQ(status_of(d, "pcscd"), "ok") << all;
  json readers = finding(d, "readers");
  EXPECT_EQ(readers["status"], "warning") << all;
  EXPECT_EQ(readers["message"], "No card reader or token is connected.") << all;
  EXPECT_TRUE(contains(readers["hint"], "Plug in your USB KEY")) << all;
  EXPECT_EQ(status_of(d, "usbkey_driver"), "info") << all;
  EXPECT_EQ(status_of(d, "sdkey_driver"), "info") << all;
  EXPECT_EQ(status_of(d, "clock"), "ok") << all;
  EXPECT_TRUE(findings_of(d, "token").empty()) << all;
  expect_said_in_both_languages(d);

  const HttpResponse listed = page.get("/v1/certificates");
  ASSERT_EQ(listed.status, 200u) << listed.body;
  EXPECT_TRUE(listed.body_json()["certificates"].empty()) << listed.body;
  EXPECT_EQ(daemon.terminate(), 0) << daemon.log();
}

// Revocation through the certificate's OCSP responder, as queryCertificates and the
// diagnosis show it.
using Revocation = Diagnosis;

TEST_F(Revocation, GoodCertificate_IsGood_OnAValidChain) {
  OcspCa issuer;
  start_trusting(issuer.ca);
  const std::uint32_t usbkey = serial("usbkey");
  const std::string certificate =
      provision_certificate(usbkey, "good holder", issuer.ca, issuer.options());
  ASSERT_TRUE(issuer.await_answer(certificate, "good"));

  const std::vector<json> listed = certificates_of(usbkey);
  ASSERT_EQ(listed.size(), 1u) << certificates().dump(2);
  EXPECT_EQ(listed[0]["id"], "01");
  EXPECT_EQ(listed[0]["subject"], "CN=good holder");
  EXPECT_EQ(listed[0]["chain"], "valid") << listed[0].dump();
  EXPECT_EQ(listed[0]["revocation"], "good") << listed[0].dump();
  EXPECT_TRUE(contains(listed[0]["detail"], "OCSP responder " + issuer.url() + ": good"))
      << listed[0].dump();

  const json d = diagnose();
  EXPECT_EQ(status_of(d, "certificate", usbkey), "ok") << d.dump(2);
}

TEST_F(Revocation, RevokedAtTheCa_IsRevoked_OnAValidChain_AndTheDiagnosisSaysSo) {
  OcspCa issuer;
  start_trusting(issuer.ca);
  const std::uint32_t usbkey = serial("usbkey");
  const std::string certificate =
      provision_certificate(usbkey, "revoked holder", issuer.ca, issuer.options());
  issuer.ca.revoke(certificate);
  ASSERT_TRUE(issuer.await_answer(certificate, "revoked"));

  const std::vector<json> listed = certificates_of(usbkey);
  ASSERT_EQ(listed.size(), 1u) << certificates().dump(2);
  EXPECT_EQ(listed[0]["chain"], "valid") << listed[0].dump();
  EXPECT_EQ(listed[0]["revocation"], "revoked") << listed[0].dump();
  EXPECT_TRUE(contains(listed[0]["detail"], "OCSP responder " + issuer.url() + ": revoked at"))
      << listed[0].dump();

  const json d = diagnose();
  const std::string all = d.dump(2);
  json cert = finding(d, "certificate", usbkey);
  EXPECT_EQ(cert["status"], "error") << all;
  EXPECT_EQ(cert["certificate"], "01") << all;
  EXPECT_EQ(cert["message"], "The certificate \"CN=revoked holder\" has been revoked.") << all;
  EXPECT_TRUE(contains(cert["message_zh"], "已被吊销")) << all;
  EXPECT_TRUE(contains(cert["hint"], "certificate authority")) << all;
}

TEST_F(Revocation, GoodThenRevoked_AFreshDaemonHearsTheRevocation) {
  OcspCa issuer;
  start_trusting(issuer.ca);
  const std::uint32_t usbkey = serial("usbkey");
  const std::string certificate =
      provision_certificate(usbkey, "later revoked", issuer.ca, issuer.options());
  ASSERT_TRUE(issuer.await_answer(certificate, "good"));
  std::vector<json> listed = certificates_of(usbkey);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["revocation"], "good") << listed[0].dump();

  issuer.ca.revoke(certificate);
  ASSERT_TRUE(issuer.await_answer(certificate, "revoked"));
  start_trusting(
      issuer.ca);  // the answer "good" is cached until its nextUpdate: a new daemon asks again
  listed = certificates_of(usbkey);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["revocation"], "revoked") << listed[0].dump();
  EXPECT_EQ(status_of(diagnose(), "certificate", usbkey), "error");
}

TEST_F(Revocation, ResponderStopped_IsUnknown_NeverAnError) {
  OcspCa issuer;
  start_trusting(issuer.ca);
  const std::uint32_t usbkey = serial("usbkey");
  provision_certificate(usbkey, "unreachable holder", issuer.ca, issuer.options());
  issuer.stop();
  start_trusting(issuer.ca);  // fresh: nothing cached

  const std::vector<json> listed = certificates_of(usbkey);
  ASSERT_EQ(listed.size(), 1u) << certificates().dump(2);
  EXPECT_EQ(listed[0]["chain"], "valid") << listed[0].dump();
  EXPECT_EQ(listed[0]["revocation"], "unknown") << listed[0].dump();
  EXPECT_TRUE(contains(listed[0]["detail"], "OCSP responder " + issuer.url())) << listed[0].dump();

  const json d = diagnose();
  const std::string all = d.dump(2);
  json cert = finding(d, "certificate", usbkey);
  EXPECT_EQ(cert["status"], "info") << all;
  EXPECT_TRUE(contains(cert["message"], "its revocation status could not be checked")) << all;
  EXPECT_TRUE(contains(cert["hint"], "network connection")) << all;
}

}  // namespace
}  // namespace certkey::test
