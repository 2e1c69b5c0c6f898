// The help desk's side of remote unlock (daemon/src/helpdesk/, daemon/cli/helpdesk.cpp) with
// the master key in a real SoftHSM2 token: the HSM's derivation and CMAC give exactly the
// reference computation of docs/unlock.md sections 3 and 4, the provisioned master key
// cannot be read, and `certkey helpdesk respond` writes its audit line before it shows a
// response.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "helpdesk/unlock_responder.hpp"
#include "softhsm_token.hpp"

namespace certkey::helpdesk {
namespace {

using test::SoftHsmToken;
namespace unlock = card::unlock;

// The test vectors of docs/unlock.md section 7.
const card::Bytes kKnownMaster = [] {
  card::Bytes m(32);
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(i);
  return m;
}();
const unlock::Code kChallenge = {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9};
constexpr std::uint32_t kSerial = 12345678;
constexpr char kChallengeCode[] = "N4JU5-7AX66-NQMCN-HC7B2";
constexpr char kResponseCode[] = "7FRHE-9V2W9-U9QUB-JA6JP";

class Helpdesk : public ::testing::Test {
 protected:
  HsmLocation hsm() const { return {SoftHsmToken::kModule, SoftHsmToken::kLabel}; }

  // A master key of known value, put into the HSM the way an HSM imports a key ceremony's
  // result: so the HSM's answers can be compared with the reference computation.
  void import_known_master_key() {
    pkcs11::Module module(SoftHsmToken::kModule);
    pkcs11::Session session(module, *pkcs11::slot_with_token_label(module, SoftHsmToken::kLabel),
                            true);
    session.login(SoftHsmToken::kPin);
    CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    const std::string label = hsm().key_label;
    session.create(
        {{CKA_CLASS, &secret, sizeof secret},
         {CKA_KEY_TYPE, &aes, sizeof aes},
         {CKA_VALUE, const_cast<std::uint8_t*>(kKnownMaster.data()), kKnownMaster.size()},
         {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
         {CKA_TOKEN, &yes, sizeof yes},
         {CKA_PRIVATE, &yes, sizeof yes},
         {CKA_SENSITIVE, &yes, sizeof yes},
         {CKA_EXTRACTABLE, &no, sizeof no},
         {CKA_DERIVE, &yes, sizeof yes}});
  }

  struct Run {
    int status = -1;
    std::string out;
  };
  // certkey helpdesk ARGS, with `input` on its standard input; standard error joins the output.
  Run helpdesk(const std::string& args, const std::string& input = SoftHsmToken::kPin) {
    const std::string command = "printf '%s\\n' '" + input + "' | LANG=C.UTF-8 " +
                                std::string(CERTKEY_CLI) + " helpdesk " +
                                SoftHsmToken::cli_options() + " " + args + " 2>&1";
    Run r;
    FILE* out = ::popen(command.c_str(), "r");
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, out)) r.out += buffer;
    const int status = ::pclose(out);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  std::string audit_path() const { return hsm_token_.dir + "/audit/helpdesk.jsonl"; }
  std::vector<nlohmann::json> audit_lines() const {
    std::vector<nlohmann::json> lines;
    std::ifstream in(audit_path());
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  }

  SoftHsmToken hsm_token_;
};

TEST_F(Helpdesk, TheHsmsDerivationAndCmac_AreTheReferenceComputation_AndGiveTheDocumentedVector) {
  import_known_master_key();
  UnlockResponder responder(hsm(), SoftHsmToken::kPin);
  const card::Bytes reference_key = unlock::derive_unlock_key(kKnownMaster, kSerial);
  EXPECT_EQ(responder.issuance_key(kSerial), reference_key);
  EXPECT_EQ(responder.respond(kSerial, kChallenge),
            unlock::compute_response(reference_key, kSerial, kChallenge));
  EXPECT_EQ(unlock::encode(responder.respond(kSerial, kChallenge)), kResponseCode);
  EXPECT_NE(responder.respond(kSerial + 1, kChallenge), responder.respond(kSerial, kChallenge));
}

TEST_F(Helpdesk, ProvisionedMasterKey_CannotBeRead_OrUsedButToDerive_AndIsNeverReplaced) {
  provision_master_key(hsm(), SoftHsmToken::kPin);
  {  // a module is initialised once per process at a time
    pkcs11::Module module(SoftHsmToken::kModule);
    pkcs11::Session session(module, *pkcs11::slot_with_token_label(module, SoftHsmToken::kLabel),
                            false);
    session.login(SoftHsmToken::kPin);
    const std::vector<CK_OBJECT_HANDLE> keys =
        session.find_labelled(CKO_SECRET_KEY, hsm().key_label);
    ASSERT_EQ(keys.size(), 1u);
    try {
      session.attribute(keys[0], CKA_VALUE);
      ADD_FAILURE() << "the master key's value was read";
    } catch (const pkcs11::Error& e) {
      EXPECT_EQ(e.rv(), static_cast<CK_RV>(CKR_ATTRIBUTE_SENSITIVE));
    }
    EXPECT_EQ(session.attribute(keys[0], CKA_EXTRACTABLE), card::Bytes{CK_FALSE});
    EXPECT_EQ(session.attribute(keys[0], CKA_NEVER_EXTRACTABLE), card::Bytes{CK_TRUE});
    EXPECT_EQ(session.attribute(keys[0], CKA_ENCRYPT), card::Bytes{CK_FALSE});
    EXPECT_EQ(session.attribute(keys[0], CKA_VALUE_LEN).size(), sizeof(CK_ULONG));
  }

  try {
    provision_master_key(hsm(), SoftHsmToken::kPin);
    ADD_FAILURE() << "a second master key was made";
  } catch (const HsmError& e) {
    EXPECT_EQ(e.kind(), HsmError::Kind::master_key_exists);
  }
  UnlockResponder responder(hsm(), SoftHsmToken::kPin);
  EXPECT_EQ(responder.respond(kSerial, kChallenge), responder.respond(kSerial, kChallenge));
}

TEST_F(Helpdesk, NoMasterKey_WrongPin_NoToken_AreToldApart) {
  EXPECT_THROW(
      {
        try {
          UnlockResponder(hsm(), SoftHsmToken::kPin);
        } catch (const HsmError& e) {
          EXPECT_EQ(e.kind(), HsmError::Kind::no_master_key);
          throw;
        }
      },
      HsmError);
  try {
    UnlockResponder(hsm(), "00000000");
    ADD_FAILURE();
  } catch (const pkcs11::Error& e) {
    EXPECT_EQ(e.rv(), static_cast<CK_RV>(CKR_PIN_INCORRECT));
  }
  HsmLocation elsewhere = hsm();
  elsewhere.token_label = "no such token";
  try {
    UnlockResponder(elsewhere, SoftHsmToken::kPin);
    ADD_FAILURE();
  } catch (const HsmError& e) {
    EXPECT_EQ(e.kind(), HsmError::Kind::no_token);
  }
}

TEST_F(Helpdesk, Respond_PrintsTheSpokenResponse_AfterItsAuditLineWithTheTicket) {
  import_known_master_key();
  const std::string challenge = kChallengeCode;
  ASSERT_EQ(unlock::encode(kChallenge), challenge);
  const Run r = helpdesk("respond --ticket HD-2026-118 --operator alice --audit " + audit_path() +
                         " " + std::to_string(kSerial) + " " + challenge);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("    7FRHE 9V2W9 U9QUB JA6JP\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(SoftHsmToken::kPin), std::string::npos);

  const std::vector<nlohmann::json> lines = audit_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["ticket"], "HD-2026-118");
  EXPECT_EQ(lines[0]["operator"], "alice");
  EXPECT_EQ(lines[0]["serial"], kSerial);
  EXPECT_EQ(lines[0]["challenge"], challenge);
  EXPECT_TRUE(lines[0]["time"].get<std::string>().size() == 20u) << lines[0];

  // Typed as it was heard: lower case, spaces.
  std::string heard = challenge;
  for (char& c : heard)
    c = c == '-' ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(helpdesk("respond --ticket HD-2 --audit " + audit_path() + " " +
                     std::to_string(kSerial) + " " + heard)
                .status,
            0);
  EXPECT_EQ(audit_lines().size(), 2u) << "appended";
}

TEST_F(Helpdesk, Respond_Refused_WithoutTicket_WrongHsmPin_MisheardChallenge_OrNoAuditFile) {
  import_known_master_key();
  const std::string operands = std::to_string(kSerial) + " " + unlock::encode(kChallenge);
  const std::string audit = " --audit " + audit_path() + " ";

  Run r = helpdesk("respond" + audit + operands);
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("--ticket is needed"), std::string::npos) << r.out;

  r = helpdesk("respond --ticket \"$(printf 'T1\\033[2J')\"" + audit +
               operands);  // an escape sequence
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("printable text of at most 128 bytes"), std::string::npos) << r.out;

  r = helpdesk("respond --ticket T1" + audit + operands, "00000000");
  EXPECT_EQ(r.status, 4) << r.out;
  EXPECT_NE(r.out.find("The HSM refused the PIN."), std::string::npos) << r.out;

  std::string misheard = unlock::encode(kChallenge);
  misheard[2] = misheard[2] == 'A' ? 'B' : 'A';
  r = helpdesk("respond --ticket T1" + audit + std::to_string(kSerial) + " " + misheard);
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("Ask the caller to read it again."), std::string::npos) << r.out;

  r = helpdesk("respond --ticket T1" + audit + "99999999999 " + unlock::encode(kChallenge));
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_TRUE(audit_lines().empty()) << "nothing answered, nothing recorded";

  std::ofstream(hsm_token_.dir + "/not-a-directory") << "x";
  r = helpdesk("respond --ticket T1 --audit " + hsm_token_.dir + "/not-a-directory/audit.jsonl " +
               operands);
  EXPECT_EQ(r.status, 4) << r.out;
  EXPECT_NE(r.out.find("the response is not shown without its record"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Response for token"), std::string::npos) << r.out;
}

TEST_F(Helpdesk, Provision_ThroughTheCli_OnceOnly) {
  Run r = helpdesk("provision");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("not extractable"), std::string::npos) << r.out;
  r = helpdesk("provision");
  EXPECT_EQ(r.status, 4) << r.out;
  EXPECT_NE(r.out.find("already has a key"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace certkey::helpdesk
