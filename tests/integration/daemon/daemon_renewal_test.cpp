// Renewal through certkeyd, whole (docs/daemon.md, "Renewals"), on each medium: a test CA
// made on the openssl command line (root, then issuing CA) issues the certificate being
// renewed and the renewed one. The old certificate signs until the new one is current;
// afterwards a fresh pkcs11-tool process signs with the new key in the old slot and the old
// certificate waits in a retired slot. The authorization (JWS) verifies with the openssl
// command line. Certificates from another CA, for another subject, not yet valid or for
// another key are refused and change nothing on the token. Cancel rolls back; retention
// removes a superseded key whose certificate expired. Runs in tests/harness/with-tokens
// --media usbkey,sim,sdkey.
#include "daemon_renewal_fixture.hpp"

namespace certkey::test {
namespace {

class Renewal : public RenewalFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { prepare(GetParam()); }
};

TEST_P(Renewal, MakesTheNewCertificateCurrentInTheOldSlot_AndRefusesEveryWrongCertificate) {
  start_daemon();
  const json begun = begin();
  ASSERT_EQ(begun["status"], 201) << begun.dump();
  const json renewal = begun["body"]["renewal"];
  EXPECT_TRUE(conforms("/v1/renewals", "post", 201, begun["body"]));
  EXPECT_EQ(renewal["state"], "awaiting_certificate");
  EXPECT_EQ(renewal["algorithm"], "ecc-p256") << "the renewed key's algorithm";
  const std::string csr = renewal["csr"], key = renewal["key"];
  EXPECT_NE(shell_output("echo " + quoted(csr) + " | openssl req -noout -subject -nameopt RFC2253")
                .find("CN=renewal holder"),
            std::string::npos);

  // The authorization verifies with the openssl command line against the old certificate,
  // and binds this request, this renewal and this origin.
  const std::string payload = verify_authorization(renewal["authorization"], csr, old_pem_);
  const json claims = json::parse(payload, nullptr, false);
  ASSERT_TRUE(claims.is_object()) << payload;
  EXPECT_EQ(claims["renewal"], renewal["id"]);
  EXPECT_EQ(claims["origin"], kPortal);
  EXPECT_GT(claims["iat"].get<std::int64_t>(), 0);

  // Until the new certificate is current, the old one signs, and wrong certificates are
  // refused with the token unchanged.
  EXPECT_TRUE(signs_with("01", old_pem_));
  TestCa other("another");
  const std::string another_key_csr = shell_output(
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "
      "'/CN=renewal "
      "holder' "
      "2>/dev/null");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {other.issue(csr), "certificate_untrusted"},
      {ca_.issue(csr, {.subject = "/CN=someone else"}), "certificate_wrong_subject"},
      {ca_.issue(csr, {.start = "20300101000000Z", .end = "20310101000000Z"}),
       "certificate_not_valid_now"},
      {ca_.issue(another_key_csr), "certificate_mismatch"},
  };
  for (const auto& [certificate, code] : refused) {
    const json r = complete(renewal["id"], certificate);
    EXPECT_EQ(r["body"]["error"]["code"], code) << r.dump();
    EXPECT_EQ(certificate_in("01"), der_of_pem(old_pem_)) << code;
    EXPECT_EQ(certificate_in(key), "") << code;
  }
  EXPECT_EQ(get_renewal(renewal["id"])["body"]["renewal"]["state"], "awaiting_certificate");

  const std::string renewed = ca_.issue(csr);
  const json done = complete(renewal["id"], renewed);
  ASSERT_EQ(done["status"], 200) << done.dump();
  EXPECT_EQ(done["body"]["renewal"]["state"], "current");
  EXPECT_TRUE(conforms("/v1/renewals/{id}/complete", "post", 200, done["body"]));

  // Fresh processes find the new key and certificate where the old ones were.
  EXPECT_EQ(certificate_in("01"), der_of_pem(renewed));
  EXPECT_TRUE(signs_with("01", renewed));
  EXPECT_EQ(certificate_in(key), der_of_pem(old_pem_))
      << "the old certificate waits in the retired slot";
  EXPECT_TRUE(unix_call("listRenewals")["result"]["renewals"].empty());
  EXPECT_EQ(daemon_->renewal_states().size(), 1u) << "kept for retention";
}

TEST_P(Renewal, ChainGivenWithTheCertificate_CompletesWithoutConfiguredIntermediates) {
  start_daemon(/*intermediates=*/false);
  const json begun = begin();
  ASSERT_EQ(begun["status"], 201) << begun.dump();
  const json renewal = begun["body"]["renewal"];
  const std::string renewed = ca_.issue(renewal["csr"]);
  EXPECT_EQ(complete(renewal["id"], renewed)["body"]["error"]["code"], "certificate_untrusted");
  const json done = complete(renewal["id"], renewed, ca_.chain_pem());
  EXPECT_EQ(done["status"], 200) << done.dump();
  EXPECT_TRUE(signs_with("01", renewed));
}

TEST_P(Renewal, Cancel_RemovesTheNewKey_AndTheOldCertificateStays) {
  start_daemon();
  const json begun = begin();
  ASSERT_EQ(begun["status"], 201) << begun.dump();
  const std::string id = begun["body"]["renewal"]["id"], key = begun["body"]["renewal"]["key"];
  EXPECT_TRUE(has_key(key));
  const json cancelled = unix_call("cancelRenewal", {{"id", id}}, {{"origin", kPortal}});
  EXPECT_EQ(cancelled["status"], 200) << cancelled.dump();
  EXPECT_EQ(cancelled["result"]["renewal"]["state"], "cancelled");
  EXPECT_FALSE(has_key(key));
  EXPECT_EQ(get_renewal(id)["status"], 404);
  EXPECT_TRUE(daemon_->renewal_states().empty());
  EXPECT_TRUE(signs_with("01", old_pem_));
}

TEST_P(Renewal, SecondRenewalOfTheSameCertificate_IsRefusedWhileTheFirstIsInProgress) {
  start_daemon();
  const json first = begin();
  ASSERT_EQ(first["status"], 201) << first.dump();
  const json second = begin();
  EXPECT_EQ(second["body"]["error"]["code"], "renewal_in_progress") << second.dump();
  const json list = unix_call("listRenewals", json::object(), {{"origin", kPortal}});
  ASSERT_EQ(list["result"]["renewals"].size(), 1u) << list.dump();
  EXPECT_EQ(list["result"]["renewals"][0]["id"], first["body"]["renewal"]["id"]);
}

// The certificate being renewed has expired: once the renewal is current, retention (0 days
// after the old certificate's expiry) removes the superseded key and certificate. With a
// longer retention they stay; the next insertion, under the shorter one, removes them.
TEST_P(Renewal, Retention_RemovesTheSupersededKeyOnceItsCertificateHasExpired) {
  old_pem_ = provision_certificate(serial_, "renewal holder", ca_,
                                   {.start = "20200101000000Z", .end = "20210101000000Z"});
  start_daemon(true, /*superseded_days=*/36500);
  json begun = begin();
  ASSERT_EQ(begun["status"], 201) << begun.dump();
  std::string key = begun["body"]["renewal"]["key"];
  std::string renewed = ca_.issue(begun["body"]["renewal"]["csr"]);
  ASSERT_EQ(complete(begun["body"]["renewal"]["id"], renewed)["status"], 200);
  EXPECT_EQ(certificate_in(key), der_of_pem(old_pem_)) << "kept: retention has 100 years to run";

  // Pulled while the daemon is down, so that its insertion, not the start, finds it.
  daemon_->terminate();
  pull();
  restart_daemon(true, /*superseded_days=*/0);
  const json event = insert_and_wait_for_reconciliation();
  ASSERT_TRUE(event["data"].contains("reconciled")) << event.dump();
  EXPECT_EQ(event["data"]["reconciled"].size(), 1u) << event.dump();
  EXPECT_FALSE(has_key(key));
  EXPECT_EQ(certificate_in(key), "");
  EXPECT_TRUE(signs_with("01", renewed));
  EXPECT_EQ(daemon_->renewal_states(), std::vector<std::string>{})
      << event.dump() << daemon_->log();
}

// The same renewal from the desk, for a CA that takes a request file (docs/cli.md): certkey
// renew --csr-out writes the request and its authorization, the CA issues, certkey renew
// --cert-in makes the new certificate current. The PIN comes from the daemon's prompt.
TEST_P(Renewal, FromTheCli_WithRequestAndCertificateFiles) {
  start_daemon();
  const std::string renew = "--token " + std::to_string(serial_) + " renew ";
  ASSERT_EQ(run_certkey(daemon_->runtime_dir, renew + "--cert-in " + dir_ + "/none.pem").status, 4)
      << "nothing to complete yet";
  CliRun begun = run_certkey(daemon_->runtime_dir, renew + "--csr-out " + dir_ + "/cli.csr");
  ASSERT_EQ(begun.status, 0) << begun.out << begun.err;
  EXPECT_NE(begun.out.find("certkey renew --cert-in CERTIFICATE_FILE"), std::string::npos)
      << begun.out;
  const std::string csr = read_file(dir_ + "/cli.csr");
  const json claims = json::parse(
      verify_authorization(read_file(dir_ + "/cli.csr.jws"), csr, old_pem_), nullptr, false);
  ASSERT_TRUE(claims.is_object()) << "the authorization verifies against the old certificate";
  EXPECT_TRUE(signs_with("01", old_pem_))
      << "the old certificate works until the new one is current";

  write_file(dir_ + "/cli.pem", ca_.issue(csr));
  const CliRun completed = run_certkey(
      daemon_->runtime_dir, renew + "--cert-in " + dir_ + "/cli.pem --chain " + ca_.issuing_path());
  ASSERT_EQ(completed.status, 0) << completed.out << completed.err << daemon_->log();
  EXPECT_NE(completed.out.find("The new certificate is current in slot 01"), std::string::npos)
      << completed.out;
  EXPECT_TRUE(signs_with("01", read_file(dir_ + "/cli.pem")))
      << "a fresh process signs with the new key in 01";
}

INSTANTIATE_TEST_SUITE_P(Media, Renewal, ::testing::Values("usbkey", "sim", "sdkey"));

}  // namespace
}  // namespace certkey::test
