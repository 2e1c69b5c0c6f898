// Changing and revoking a certificate through certkeyd (docs/daemon.md, "Changing and
// revoking a certificate"), on each medium. A change writes a certificate re-issued by the
// trusted CA for the key the slot already holds; one for another key or from another CA is
// refused and the token keeps its certificate. A revocation deletes the slot's key and
// certificate once the holder confirms in the trusted prompt, which names the certificate's
// subject and the requesting origin; a "no" changes nothing. A crash after the revocation is
// recorded is finished when the token comes back. Every result is checked from outside the
// daemon, in fresh pkcs11-tool and openssl processes. Runs in tests/harness/with-tokens
// --media usbkey,sim,sdkey.

#include <future>

#include "daemon_renewal_fixture.hpp"

namespace certkey::test {
namespace {

constexpr char kSubject[] = "CN=renewal holder";  // what RenewalFixture::prepare provisions

class CertificateFixture : public RenewalFixture,
                           public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { prepare(GetParam()); }

  // A request signed by the key in slot `id` (openssl req through libp11's engine and
  // certkey's module, as provision_certificate makes them).
  std::string csr_from_token(const std::string& id, const std::string& subject) const {
    const std::string module = build_dir() + "/pkcs11-module/src/libcertkey-pkcs11.so";
    write_file(dir_ + "/engine.cnf",
               "openssl_conf = init\n[init]\nengines = engines\n[engines]\npkcs11 = pkcs11\n"
               "[pkcs11]\nengine_id = pkcs11\nMODULE_PATH = " +
                   module + "\ninit = 0\n");
    const std::string uri =
        "pkcs11:token=certkey%20" + std::to_string(serial_) + ";id=%" + id + ";type=private";
    ::unlink((dir_ + "/reissue.csr").c_str());
    shell("cd " + dir_ + " && OPENSSL_CONF=engine.cnf openssl req -new -subj " + quoted(subject) +
          " -engine pkcs11 -keyform engine -key " + quoted(uri) +
          " -passin pass:123456 -out reissue.csr >/dev/null 2>&1");
    return read_file(dir_ + "/reissue.csr");
  }

  HttpResponse post(const std::string& path, const json& body) {
    Http http(daemon_->port);
    return http.post(path, body);
  }

  HttpResponse change(const std::string& pem) {
    return post("/v1/certificates/change",
                {{"token", serial_}, {"certificate", "01"}, {"pem", pem}});
  }
  HttpResponse revoke() {
    return post("/v1/certificates/revoke", {{"token", serial_}, {"certificate", "01"}});
  }

  bool prompted(const std::string& text) const {
    return daemon_->prompts().find(text) != std::string::npos;
  }

  // The old certificate and its key are where they were, and sign.
  void expect_unchanged() {
    EXPECT_EQ(certificate_in("01"), der_of_pem(old_pem_));
    EXPECT_TRUE(has_key("01"));
    EXPECT_TRUE(signs_with("01", old_pem_));
  }
};

// ---------------------------------------------------------------------------------------
// changeCertificate

using ChangeCertificate = CertificateFixture;

TEST_P(ChangeCertificate, ReissuedForTheSlotsKey_ReplacesTheCertificate) {
  start_daemon();
  const std::string csr = csr_from_token("01", "/CN=renewal holder (re-issued)");
  ASSERT_NE(csr, "");
  const std::string reissued = ca_.issue(csr);
  const HttpResponse r = change(reissued);
  ASSERT_EQ(r.status, 200u) << r.body << daemon_->log();
  EXPECT_EQ(r.body_json(), json({{"token", serial_}, {"certificate", "01"}}));
  EXPECT_TRUE(conforms("/v1/certificates/change", "post", r.status, r.body_json()));
  EXPECT_TRUE(
      prompted(std::string("SETDESC The web site ") + kPortal + " asks for the PIN of your"))
      << daemon_->prompts();
  EXPECT_TRUE(
      prompted("replace a certificate with the re-issued \"CN=renewal holder (re-issued)\""))
      << daemon_->prompts();

  // A fresh process finds the re-issued certificate beside the same key, and the key signs
  // for it.
  EXPECT_EQ(certificate_in("01"), der_of_pem(reissued));
  EXPECT_TRUE(has_key("01"));
  EXPECT_TRUE(signs_with("01", reissued));
  const json tokens = unix_call("listTokens")["result"];
  bool listed = false;
  for (const json& t : tokens["tokens"]) {
    if (t["serial"] != serial_) continue;
    for (const json& c : t["certificates"])
      listed = listed || c["subject"] == "CN=renewal holder (re-issued)";
  }
  EXPECT_TRUE(listed) << tokens.dump();
}

TEST_P(ChangeCertificate, ForAnotherKey_OrFromAnotherCa_IsRefused_AndTheTokenIsUnchanged) {
  start_daemon();
  const std::string another_key_csr = shell_output(
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "
      "'/CN=renewal "
      "holder' "
      "2>/dev/null");
  HttpResponse r = change(ca_.issue(another_key_csr));
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(r.error_code(), "certificate_mismatch") << r.body;
  EXPECT_TRUE(conforms("/v1/certificates/change", "post", r.status, r.body_json()));
  expect_unchanged();

  const std::string csr = csr_from_token("01", "/CN=renewal holder");
  ASSERT_NE(csr, "");
  TestCa other("another");
  r = change(other.issue(csr));
  EXPECT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(r.error_code(), "certificate_untrusted") << r.body;
  EXPECT_TRUE(conforms("/v1/certificates/change", "post", r.status, r.body_json()));
  expect_unchanged();
  EXPECT_FALSE(prompted("asks for the PIN")) << "refused before the PIN is asked";
}

INSTANTIATE_TEST_SUITE_P(Media, ChangeCertificate, ::testing::Values("usbkey", "sim", "sdkey"));

// ---------------------------------------------------------------------------------------
// revokeCertificate

using RevokeCertificate = CertificateFixture;

// The PIN prompt of a revocation also speaks of deleting the certificate: its rule comes first.
constexpr char kConfirm[] = "asks for the PIN\tpin:123456\nasks to delete the certificate\tconfirm";
constexpr char kDecline[] = "asks for the PIN\tpin:123456\nasks to delete the certificate\tcancel";

TEST_P(RevokeCertificate, Confirmed_DeletesTheKeyAndTheCertificate) {
  options_.answers = kConfirm;
  start_daemon();
  const HttpResponse r = revoke();
  ASSERT_EQ(r.status, 200u) << r.body << daemon_->log();
  EXPECT_EQ(r.body_json(), json({{"token", serial_}, {"certificate", "01"}}));
  EXPECT_TRUE(conforms("/v1/certificates/revoke", "post", r.status, r.body_json()));

  // The question named the certificate's subject and who asks, and came before the PIN.
  const std::string prompts = daemon_->prompts();
  const std::string question = std::string("SETDESC The web site ") + kPortal +
                               " asks to delete the certificate \"" + kSubject +
                               "\" and its key from this token";
  const std::size_t asked = prompts.find(question);
  EXPECT_NE(asked, std::string::npos) << prompts;
  EXPECT_NE(prompts.find("CONFIRM"), std::string::npos) << prompts;
  EXPECT_LT(asked, prompts.find("asks for the PIN")) << prompts;

  EXPECT_EQ(certificate_in("01"), "");
  EXPECT_FALSE(has_key("01"));
  EXPECT_EQ(daemon_->audit().back(),
            "revokeCertificate " + std::string(kPortal) + " ok " + std::to_string(serial_));
}

TEST_P(RevokeCertificate, Declined_IsRevokeDeclined_AndNothingChanges) {
  options_.answers = kDecline;
  start_daemon();
  const HttpResponse r = revoke();
  EXPECT_EQ(r.status, 409u) << r.body;
  EXPECT_EQ(r.error_code(), "revoke_declined") << r.body;
  EXPECT_TRUE(conforms("/v1/certificates/revoke", "post", r.status, r.body_json()));
  EXPECT_TRUE(prompted("asks to delete the certificate \"" + std::string(kSubject) + "\""))
      << daemon_->prompts();
  EXPECT_FALSE(prompted("asks for the PIN")) << "no PIN is asked after a no";
  expect_unchanged();
}

// The daemon stops (as kill -9 would leave it) after recording the revocation and before
// deleting anything. Started again with the token away, it finishes the deletion when the
// token comes back: the holder said yes.
TEST_P(RevokeCertificate,
       CrashAfterTheRevocationIsRecorded_TheDeletionIsFinishedOnTheNextInsertion) {
  options_.answers = kConfirm;
  options_.fault_point = "revoking_certificate";
  start_daemon();
  std::future<json> reply = std::async(std::launch::async, [this] {
    return unix_call("revokeCertificate", {{"token", serial_}, {"certificate", "01"}},
                     {{"origin", kPortal}});
  });
  ASSERT_EQ(daemon_->wait_exit(), 86) << daemon_->log();
  EXPECT_TRUE(reply.get().is_null()) << "the daemon went away without answering";
  EXPECT_EQ(certificate_in("01"), der_of_pem(old_pem_)) << "nothing deleted yet";

  pull();
  restart_daemon();
  // The token's return: tokenInserted, then tokenReconciled for the recorded revocation.
  UnixClient events(daemon_->socket_path);
  ASSERT_EQ(events.call("watchEvents")["status"], 200);
  sim("insert " + token_name_);
  json reconciled;
  for (;;) {
    const json event = events.next_event();
    ASSERT_FALSE(event.is_null()) << daemon_->log();
    if (event["event"] == "tokenReconciled" && event["data"]["token"] == serial_) {
      reconciled = event;
      break;
    }
  }
  EXPECT_TRUE(conforms_to_schema("EventMessage", reconciled)) << reconciled.dump();
  ASSERT_FALSE(reconciled["data"].contains("error")) << reconciled.dump() << daemon_->log();
  EXPECT_EQ(reconciled["data"]["reconciled"], json::array({"revocation of slot 01 finished"}))
      << reconciled.dump();
  EXPECT_EQ(certificate_in("01"), "");
  EXPECT_FALSE(has_key("01"));

  EXPECT_EQ(daemon_->slot_changes(), std::vector<std::string>{}) << "nothing is left to finish";
}

INSTANTIATE_TEST_SUITE_P(Media, RevokeCertificate, ::testing::Values("usbkey", "sim", "sdkey"));

}  // namespace
}  // namespace certkey::test
