// The fault sweep (docs/testing.md, "Fault sweep"): each module operation runs once per APDU
// it sends and per fault the simulator can inject there: the APDU refused (fail), its answer
// lost with the card falling silent (drop), answered slowly (delay), answered with a flipped
// byte (corrupt), the card pulled once it answered (pull). Every run must end in a clean
// CKR code, leave no half-written object, and the next run, after re-insertion, must work.
// Runs inside tests/harness/with-tokens, against pcscd and the simulator.
#include <certkey/card/token_client.hpp>
#include <certkey/card/unlock.hpp>
#include <certkey/protocol/defaults.hpp>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>

#include "../harness/module_client.hpp"
#include "../harness/self_signed.hpp"
#include "../harness/sim_control.hpp"

namespace {

using certkey::test::sim;
using certkey::test::sim_apdus;

using Bytes = certkey::test::ModuleClient::Bytes;
constexpr char kReader[] = "certkey token1 00 00";

// Puts the token back when a fault pulled it. pcscd must have seen it go first: a token put
// back before its next poll would meet the reader's stale state.
void reinsert_if_pulled() {
  if (sim("list").find("token1:removed") == std::string::npos) return;
  const std::string wait = std::string(std::getenv("CERTKEY_BUILD")) +
                           "/tests/harness/pcsc-wait --reader '" + kReader + "' ";
  ASSERT_EQ(std::system((wait + "--absent").c_str()), 0);
  ASSERT_EQ(sim("insert token1"), "ok\n");
  ASSERT_EQ(std::system((wait + "--present").c_str()), 0);
}

// What a caller may be told when the token misbehaves: never CKR_GENERAL_ERROR (something in
// the module broke) nor a code that blames the caller's arguments.
const std::set<CK_RV> kCleanFailures = {
    CKR_DEVICE_ERROR,   CKR_DEVICE_REMOVED,  CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID,
    CKR_SESSION_CLOSED, CKR_FUNCTION_FAILED, CKR_DEVICE_MEMORY,     CKR_USER_NOT_LOGGED_IN};

class FaultSweep : public ::testing::Test, protected certkey::test::ModuleClient {
 protected:
  void SetUp() override { ASSERT_TRUE(ok); }

  // The public point of the key with this CKA_ID, read in a session of its own.
  Bytes public_point(CK_BYTE id) {
    CK_SESSION_HANDLE s = 0;
    if (logged_in(s) != CKR_OK) return {};
    Bytes point = attribute(s, find(s, CKO_PUBLIC_KEY, id), CKA_EC_POINT);
    p11->C_CloseSession(s);
    return point;
  }
  Bytes certificate(CK_BYTE id) {
    CK_SESSION_HANDLE s = 0;
    if (logged_in(s) != CKR_OK) return {};
    Bytes der = attribute(s, find(s, CKO_CERTIFICATE, id), CKA_VALUE);
    p11->C_CloseSession(s);
    return der;
  }

  // One operation swept: `run` does it once and returns its code; `consistent` says what is
  // wrong with the token's objects afterwards ("" when nothing is).
  // `also_clean`: codes the operation documents for what a fault can make of the token's
  // answer (a corrupted unlock challenge earns a wrong response).
  void sweep(const std::string& name, const std::function<CK_RV()>& run,
             const std::function<std::string()>& consistent,
             const std::set<CK_RV>& also_clean = {}) {
    const std::uint64_t before = sim_apdus();
    ASSERT_EQ(run(), CKR_OK) << name << " without a fault";
    const std::uint64_t count = sim_apdus() - before;
    ASSERT_GT(count, 0u);
    int points = 0;
    for (const char* kind : {"fail", "drop", "delay", "corrupt", "pull"}) {
      for (std::uint64_t n = 1; n <= count; ++n) {
        const std::string where =
            name + ", " + kind + " at APDU " + std::to_string(n) + " of " + std::to_string(count);
        ASSERT_EQ(sim("fault token1 " + std::string(kind) + " " + std::to_string(n)), "ok\n");
        const CK_RV rv = run();
        EXPECT_TRUE(rv == CKR_OK || kCleanFailures.count(rv) || also_clean.count(rv))
            << where << ": CKR 0x" << std::hex << rv;
        ASSERT_EQ(sim("fault token1 clear"), "ok\n");
        reinsert_if_pulled();
        EXPECT_EQ(consistent(), "") << where;
        EXPECT_EQ(run(), CKR_OK) << where << ": the next run after it";
        ++points;
      }
    }
    std::printf(
        "fault sweep: %s: %llu APDUs x 5 faults = %d fault points, each a clean code, consistent, "
        "then working\n",
        name.c_str(), static_cast<unsigned long long>(count), points);
  }
};

TEST_F(FaultSweep, LoginAndSign) {
  CK_SESSION_HANDLE s = 0;
  ASSERT_EQ(logged_in(s), CKR_OK);
  ASSERT_EQ(generate(s, 1), CKR_OK);
  p11->C_CloseSession(s);
  sweep(
      "login + sign",
      [&] {
        CK_SESSION_HANDLE session = 0;
        CK_RV rv = logged_in(session);
        if (rv != CKR_OK) return rv;
        CK_MECHANISM mechanism{CKM_ECDSA_SHA256, nullptr, 0};
        const CK_OBJECT_HANDLE key = find(session, CKO_PRIVATE_KEY, 1, rv);
        if (rv == CKR_OK) rv = p11->C_SignInit(session, &mechanism, key);
        CK_BYTE data[] = "swept", signature[128];
        CK_ULONG length = sizeof signature;
        if (rv == CKR_OK) rv = p11->C_Sign(session, data, sizeof data, signature, &length);
        const CK_RV logout = p11->C_Logout(session);
        p11->C_CloseSession(session);
        return rv != CKR_OK ? rv : logout;
      },
      [] { return std::string(); });  // nothing is written
}

TEST_F(FaultSweep, KeyGeneration) {
  sweep(
      "key generation",
      [&] {
        CK_SESSION_HANDLE session = 0;
        CK_RV rv = logged_in(session);
        if (rv == CKR_OK) rv = generate(session, 1);
        p11->C_CloseSession(session);
        return rv;
      },
      [&] {  // a whole key or the one before, never a slot without a readable public key
        return public_point(1).size() == 67 ? "" : "9A has no whole P-256 public key";
      });
}

TEST_F(FaultSweep, CertificateWrite) {
  CK_SESSION_HANDLE s = 0;
  ASSERT_EQ(logged_in(s), CKR_OK);
  ASSERT_EQ(generate(s, 1), CKR_OK);
  p11->C_CloseSession(s);
  // Two certificates of different lengths, written in turn: a torn write would show as neither.
  const Bytes der_a = certkey::test::self_signed_certificate("first"),
              der_b = certkey::test::self_signed_certificate(std::string(60, 'x'));
  bool next_is_a = true;
  sweep(
      "certificate write",
      [&] {
        CK_SESSION_HANDLE session = 0;
        CK_RV rv = logged_in(session);
        if (rv == CKR_OK) rv = store_certificate(session, 1, next_is_a ? der_a : der_b);
        if (rv == CKR_OK) next_is_a = !next_is_a;
        p11->C_CloseSession(session);
        return rv;
      },
      [&] {
        const Bytes now = certificate(1);
        return now == der_a || now == der_b
                   ? ""
                   : "the certificate in 9A is neither the old nor the new one";
      });
}

TEST_F(FaultSweep, SlotSwap) {
  CK_SESSION_HANDLE s = 0;
  ASSERT_EQ(logged_in(s), CKR_OK);
  ASSERT_EQ(generate(s, 1), CKR_OK);
  ASSERT_EQ(generate(s, 5), CKR_OK);
  p11->C_CloseSession(s);
  const Bytes a = public_point(1), b = public_point(5);
  ASSERT_FALSE(a.empty());
  sweep(
      "slot swap",
      [&] {
        CK_SESSION_HANDLE session = 0;
        CK_RV rv = logged_in(session);
        if (rv == CKR_OK) rv = vendor->C_CertkeySwapSlots(slot(), 1, 5);
        p11->C_CloseSession(session);
        return rv;
      },
      [&] {
        const Bytes now_1 = public_point(1), now_5 = public_point(5);
        const bool as_before = now_1 == a && now_5 == b, swapped = now_1 == b && now_5 == a;
        return as_before || swapped ? "" : "9A and 82 hold neither arrangement";
      });
}

TEST_F(FaultSweep, RemoteUnlock) {
  const Bytes master(32, 0x33);
  std::uint32_t serial = 0;
  {
    certkey::card::Connection connection(kReader);
    certkey::card::TokenClient client(connection);
    client.select_piv();
    serial = client.token_info().serial;
    const auto& k = certkey::protocol::kDefaultManagementKey;
    client.authenticate_management(Bytes(k.begin(), k.end()), certkey::protocol::Algorithm::tdes);
    client.set_unlock_key(certkey::card::unlock::derive_unlock_key(master, serial), 15);
  }
  const Bytes unlock_key = certkey::card::unlock::derive_unlock_key(master, serial);
  sweep(
      "remote unlock",
      [&] {
        CK_BYTE challenge[CERTKEY_UNLOCK_CODE_LENGTH];
        const CK_SLOT_ID id = slot();
        CK_RV rv = vendor->C_CertkeyUnlockChallenge(id, challenge);
        if (rv != CKR_OK) return rv;
        certkey::card::unlock::Code code{};
        std::copy(challenge, challenge + code.size(), code.begin());
        auto response = certkey::card::unlock::compute_response(unlock_key, serial, code);
        CK_UTF8CHAR pin[] = "123456";
        return vendor->C_CertkeyUnlockResponse(id, response.data(), pin, 6);
      },
      [&] {  // the PIN is the old one or the new one, and they are the same here
        CK_SESSION_HANDLE session = 0;
        const CK_RV rv = logged_in(session);
        p11->C_CloseSession(session);
        return rv == CKR_OK ? "" : "the PIN does not verify after the unlock";
      },
      // The token sees a response to a challenge it did not send: docs/pkcs11.md's code for a
      // wrong response. The unlock counter (15 here) pays for it, as it would for a mistyped code.
      {CKR_PIN_INCORRECT});
}

}  // namespace
