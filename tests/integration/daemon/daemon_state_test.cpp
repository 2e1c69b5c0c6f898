// certkeyd's durable state and what it keeps out of it (DESIGN.md section 6, item 5): one
// audit entry per state-changing command with the caller's origin; no PIN in the audit log,
// the database, its WAL, the daemon's output, or the prompt program's arguments; a damaged
// database refused with a clear error and left as it was. Runs in tests/harness/with-tokens
// --media usbkey,sim.
#include <sys/stat.h>

#include "daemon_harness.hpp"

namespace certkey::test {
namespace {

// A PIN no other byte of the test produces.
constexpr char kPin[] = "86420975";

TEST(State, AuditHoldsOneEntryPerStateChange_AndNoPinAppearsAnywhere) {
  TestCa ca;
  DaemonOptions options;
  options.answers = std::string("pin:") + kPin;
  options.trust_anchors = {ca.root_path()};
  options.intermediates = {ca.issuing_path()};
  Daemon daemon(options);
  Http page(daemon.port);
  const std::uint32_t serial = serial_on(page.get("/v1/tokens").body_json(), "usbkey");
  provision_certificate(serial, "audited holder", ca);
  ASSERT_EQ(shell("pkcs11-tool --module " + build_dir() +
                  "/pkcs11-module/src/libcertkey-pkcs11.so --token-label "
                  "'certkey " +
                  std::to_string(serial) + "' --login --pin 123456 --change-pin --new-pin " + kPin +
                  " >/dev/null 2>&1"),
            0);

  const HttpResponse begun = page.post("/v1/renewals", {{"token", serial}, {"certificate", "01"}});
  ASSERT_EQ(begun.status, 201u) << begun.body;
  const std::string id = begun.body_json()["renewal"]["id"];
  const json completion = {{"certificate", ca.issue(begun.body_json()["renewal"]["csr"])}};
  daemon.set_answers("cancel");
  EXPECT_EQ(page.post("/v1/renewals/" + id + "/complete", completion).error_code(),
            "pin_cancelled");
  daemon.set_answers(std::string("pin:") + kPin);
  EXPECT_EQ(page.post("/v1/renewals/" + id + "/complete", completion).status, 200u);
  page.get("/v1/tokens");  // reads are not audited
  page.get("/v1/renewals/" + id);

  const std::string token = std::to_string(serial);
  EXPECT_EQ(daemon.audit(),
            (std::vector<std::string>{
                "beginRenewal " + std::string(kPortal) + " ok " + token,
                "completeRenewal " + std::string(kPortal) + " pin_cancelled " + token,
                "completeRenewal " + std::string(kPortal) + " ok " + token}));
  // The prompt named the site and the operation.
  EXPECT_NE(daemon.prompts().find(
                "The web site https://portal.example asks for the PIN of your USB KEY to renew "
                "the certificate \"CN=audited holder\""),
            std::string::npos)
      << daemon.prompts();
  const std::string state = daemon.state_dir + "/certkeyd.db";
  EXPECT_EQ(daemon.terminate(), 0) << daemon.log();
  for (const std::string& file : {state, state + "-wal", daemon.log_path, daemon.pinentry_log}) {
    EXPECT_EQ(read_file(file).find(kPin), std::string::npos) << file;
  }
  EXPECT_NE(read_file(daemon.pinentry_log).find("argv: "), std::string::npos)
      << "the prompt's argv was recorded";
}

TEST(State, DamagedDatabase_IsReportedClearly_AndLeftAsItWas) {
  const std::string state = temp_dir();
  const std::string file = state + "/certkeyd.db";
  std::string garbage(4096, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i)
    garbage[i] = static_cast<char>((i * 131 + 7) % 251);
  write_file(file, garbage);
  DaemonOptions options;
  options.state_dir = state;
  const Exited exited = run_until_exit(options);
  EXPECT_NE(exited.status, 0);
  EXPECT_NE(exited.output.find("the state database " + file + " is damaged"), std::string::npos)
      << exited.output;
  EXPECT_NE(exited.output.find("left as it is"), std::string::npos) << exited.output;
  EXPECT_EQ(read_file(file), garbage) << "never overwritten";
}

}  // namespace
}  // namespace certkey::test
