// What the renewal tests share: a daemon that trusts a test CA, one token of the medium the
// test is instantiated for with a certificate from that CA in 9A, and the checks made from
// outside the daemon, in fresh pkcs11-tool and openssl processes.
#pragma once
#include <memory>
#include <string>

#include "daemon_harness.hpp"

namespace certkey::test {

class RenewalFixture : public ::testing::Test {
 protected:
  // Finds the token of `medium` and gives it a certificate for its key in 01.
  void prepare(const std::string& medium);
  // Only finds it (serial_, token_name_), with its slots as they are.
  void find_token(const std::string& medium);
  void TearDown() override;

  // Starts certkeyd trusting the test CA's root (and its issuing CA unless `intermediates`
  // is false), with the options the test set in `options_`.
  void start_daemon(bool intermediates = true, unsigned superseded_days = 0);
  void restart_daemon(bool intermediates = true, unsigned superseded_days = 0);

  // Commands over the unix socket (the caller says it relays for `kPortal`, as the
  // extension's relay does): {"status", "body"} for the renewal commands.
  json unix_call(const std::string& command, const json& args = json::object(),
                 const json& extra = json::object());
  json begin();
  json complete(const std::string& id, const std::string& certificate,
                const std::string& chain = {});
  json get_renewal(const std::string& id);

  // Pulls the token; inserts it again and returns the tokenReconciled event that follows.
  void pull();
  json insert_and_wait_for_reconciliation();

  // From a fresh pkcs11-tool process: the certificate in slot `id` (DER bytes, "" if none),
  // whether the slot holds a key, and whether its key signs so that `certificate_pem`'s key
  // verifies the signature (logged in with `pin`).
  std::string certificate_in(const std::string& id) const;
  bool has_key(const std::string& id) const;
  bool signs_with(const std::string& id, const std::string& certificate_pem,
                  const std::string& pin = "123456") const;
  // The JWS checked by examples/ca/verify-renewal-authorization.sh; its payload, or "".
  std::string verify_authorization(const std::string& jws, const std::string& csr_pem,
                                   const std::string& certificate_pem) const;
  std::string der_of_pem(const std::string& pem) const;

  TestCa ca_;
  DaemonOptions options_;
  std::unique_ptr<Daemon> daemon_;
  std::uint32_t serial_ = 0;
  std::string token_name_;  // the simulator's name for it ("token1")
  std::string old_pem_;     // the certificate being renewed
  std::string dir_;
};

}  // namespace certkey::test
