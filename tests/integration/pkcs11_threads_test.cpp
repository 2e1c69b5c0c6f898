// The module under several application threads at once (PKCS#11 3.0 section 5.1: with
// CKF_OS_LOCKING_OK a module must be safe to call from any thread), through pcscd and the
// simulator. The ThreadSanitizer build runs it too (scripts/test), where any data race fails
// the run. Runs inside tests/harness/with-tokens.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "../harness/module_client.hpp"
#include "../harness/sim_control.hpp"

namespace {

using certkey::test::sim;
using certkey::test::sim_apdus;

class Threads : public ::testing::Test, protected certkey::test::ModuleClient {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ok);
    CK_SESSION_HANDLE s = 0;
    ASSERT_EQ(logged_in(s), CKR_OK);  // the login is the token's, for every session
    ASSERT_EQ(generate(s, 1), CKR_OK);
    ASSERT_EQ(generate(s, 3, true), CKR_OK);
    keeper_ = s;
  }
  CK_SESSION_HANDLE keeper_ = 0;  // keeps the login while the threads open and close theirs
};

// Signers on sessions of their own, a lister, a digester and a random reader, all at once.
TEST_F(Threads, SessionsOfSeveralThreadsWorkAtOnce) {
  constexpr int kRounds = 25;
  std::atomic<int> failures{0};
  const CK_SLOT_ID id = slot();
  auto signer = [&](CK_MECHANISM_TYPE mechanism, CK_BYTE key_id) {
    CK_SESSION_HANDLE s = 0;
    if (p11->C_OpenSession(id, CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK)
      return ++failures, void();
    for (int i = 0; i < kRounds; ++i) {
      CK_MECHANISM m{mechanism, nullptr, 0};
      CK_BYTE data[32] = {static_cast<CK_BYTE>(i)}, signature[256];
      CK_ULONG length = sizeof signature;
      const CK_OBJECT_HANDLE key = find(s, CKO_PRIVATE_KEY, key_id);
      if (p11->C_SignInit(s, &m, key) != CKR_OK ||
          p11->C_Sign(s, data, sizeof data, signature, &length) != CKR_OK) {
        ++failures;
      }
      CK_MECHANISM verify{mechanism, nullptr, 0};
      if (p11->C_VerifyInit(s, &verify, find(s, CKO_PUBLIC_KEY, key_id)) != CKR_OK ||
          p11->C_Verify(s, data, sizeof data, signature, length) != CKR_OK) {
        ++failures;
      }
    }
    p11->C_CloseSession(s);
  };
  auto lister = [&] {
    for (int i = 0; i < kRounds; ++i) {
      CK_SESSION_HANDLE s = 0;
      CK_OBJECT_HANDLE found[16];
      CK_ULONG n = 0;
      if (p11->C_OpenSession(id, CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK ||
          p11->C_FindObjectsInit(s, nullptr, 0) != CKR_OK ||
          p11->C_FindObjects(s, found, 16, &n) != CKR_OK || p11->C_FindObjectsFinal(s) != CKR_OK ||
          n < 4) {
        ++failures;
      }
      CK_TOKEN_INFO info;
      if (p11->C_GetTokenInfo(id, &info) != CKR_OK) ++failures;
      p11->C_CloseSession(s);
    }
  };
  auto digester = [&] {
    CK_SESSION_HANDLE s = 0;
    if (p11->C_OpenSession(id, CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK)
      return ++failures, void();
    for (int i = 0; i < kRounds * 4; ++i) {
      CK_MECHANISM m{CKM_SHA256, nullptr, 0};
      CK_BYTE data[64] = {}, digest[32], random[32];
      CK_ULONG length = sizeof digest;
      if (p11->C_DigestInit(s, &m) != CKR_OK ||
          p11->C_Digest(s, data, sizeof data, digest, &length) != CKR_OK ||
          p11->C_GenerateRandom(s, random, sizeof random) != CKR_OK) {
        ++failures;
      }
    }
    p11->C_CloseSession(s);
  };
  std::vector<std::thread> threads;
  threads.emplace_back(signer, CKM_ECDSA_SHA256, CK_BYTE{1});
  threads.emplace_back(signer, CKM_ECDSA_SHA256, CK_BYTE{1});
  threads.emplace_back(signer, CKM_SHA256_RSA_PKCS, CK_BYTE{3});
  threads.emplace_back(lister);
  threads.emplace_back(digester);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// One thread blocks in C_WaitForSlotEvent while others work; the token is pulled and put back.
TEST_F(Threads, AWaiterSeesEventsWhileOtherThreadsWork) {
  const CK_SLOT_ID id = slot();
  CK_SLOT_ID event = 0;
  ASSERT_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, nullptr),
            CKR_NO_EVENT);  // the baseline
  std::atomic<bool> removed{false};
  std::thread waiter([&] {
    CK_SLOT_ID seen = 0;
    removed = p11->C_WaitForSlotEvent(0, &seen, nullptr) == CKR_OK && seen == id;
  });
  std::thread worker([&] {
    for (int i = 0; i < 20; ++i) {
      CK_SLOT_INFO info;
      p11->C_GetSlotInfo(id, &info);
    }
  });
  worker.join();
  ASSERT_EQ(sim("remove token1"), "ok\n");
  waiter.join();
  EXPECT_TRUE(removed);
  ASSERT_EQ(sim("insert token1"), "ok\n");
}

// C_Finalize from one thread ends a C_WaitForSlotEvent blocked in another.
TEST_F(Threads, FinalizeEndsABlockedWaiter) {
  CK_SLOT_ID event = 0;
  ASSERT_EQ(p11->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, nullptr), CKR_NO_EVENT);
  std::atomic<CK_RV> answer{CKR_OK};
  std::atomic<bool> started{false};
  std::thread waiter([&] {
    started = true;
    CK_SLOT_ID seen = 0;
    answer = p11->C_WaitForSlotEvent(0, &seen, nullptr);
  });
  while (!started) std::this_thread::yield();
  EXPECT_EQ(p11->C_Finalize(nullptr), CKR_OK);  // cancels until the waiter has left
  waiter.join();
  EXPECT_EQ(answer.load(), CKR_CRYPTOKI_NOT_INITIALIZED);
  p11 = nullptr;  // finalised already
}

}  // namespace
