// PC/SC calls per PKCS#11 call (docs/pkcs11.md section 4), counted by the benchmark's wrapper
// around libpcsclite (bench/pcsc_count), which this test links ahead of libpcsclite so that the
// module's calls go through it. Against pcscd and the simulator (tests/harness/with-tokens).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <string>

#include "../harness/module_client.hpp"
#include "../harness/self_signed.hpp"
#include "pcsc_count.h"

namespace {

using Calls = std::map<std::string, unsigned long>;

Calls now() {
  Calls calls;
  for (int i = 0; i < certkey_pcsc_functions(); ++i)
    calls[certkey_pcsc_function_name(i)] = certkey_pcsc_calls(i);
  return calls;
}

// The PC/SC functions `work` called, with how often; none when it called none.
Calls during(const std::function<void()>& work) {
  const Calls before = now();
  work();
  Calls made;
  for (const auto& [name, count] : now()) {
    if (count != before.at(name)) made[name] = count - before.at(name);
  }
  return made;
}

unsigned long total(const Calls& calls) {
  unsigned long sum = 0;
  for (const auto& [name, count] : calls) sum += count;
  return sum;
}

std::string text(const Calls& calls) {
  std::string out;
  for (const auto& [name, count] : calls) out += name + " x" + std::to_string(count) + " ";
  return out.empty() ? "none" : out;
}

const Calls kNone;
// One PC/SC transaction of `apdus` APDUs.
Calls transaction(unsigned long apdus) {
  return {{"SCardBeginTransaction", 1}, {"SCardTransmit", apdus}, {"SCardEndTransaction", 1}};
}

class PcscCalls : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(module_.ok);
    // The wrapper must stand in front of libpcsclite, or every count below would be zero.
    const Calls first = during([&] { slot_ = module_.slot(); });
    ASSERT_NE(slot_, certkey::test::ModuleClient::kNoSlot);
    ASSERT_GT(total(first), 0u) << "the module's PC/SC calls do not reach the counter";
    CK_SESSION_HANDLE s = 0;
    ASSERT_EQ(module_.logged_in(s), CKR_OK);
    if (module_.find(s, CKO_PRIVATE_KEY, 1) == CK_INVALID_HANDLE) {
      ASSERT_EQ(module_.generate(s, 1), CKR_OK);
      ASSERT_EQ(module_.store_certificate(s, 1, certkey::test::self_signed_certificate("calls")),
                CKR_OK);
    }
    ASSERT_EQ(p11()->C_CloseSession(s), CKR_OK);  // the last session: the login ends
    // The writes above emptied the object cache: a search fills it, as any first one does.
    ASSERT_EQ(p11()->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &s), CKR_OK);
    ASSERT_EQ(p11()->C_FindObjectsInit(s, nullptr, 0), CKR_OK);
    ASSERT_EQ(p11()->C_FindObjectsFinal(s), CKR_OK);
    ASSERT_EQ(p11()->C_CloseSession(s), CKR_OK);
  }
  CK_FUNCTION_LIST_PTR p11() { return module_.p11; }

  certkey::test::ModuleClient module_;
  CK_SLOT_ID slot_ = 0;
};

// DESIGN.md section 5: one PC/SC transaction per operation, and nothing between them.
TEST_F(PcscCalls, LoginFindSignLogout_TenCallsAtMost_AndNoneForFindOrSignInit) {
  CK_SESSION_HANDLE s = 0;
  EXPECT_EQ(during([&] { p11()->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &s); }),
            kNone);
  Calls all;
  auto step = [&](const char* call, const Calls& expected, const std::function<CK_RV()>& work) {
    CK_RV rv = CKR_GENERAL_ERROR;
    const Calls made = during([&] { rv = work(); });
    EXPECT_EQ(rv, CKR_OK) << call;
    EXPECT_EQ(made, expected) << call << " made: " << text(made);
    for (const auto& [name, count] : made) all[name] += count;
  };
  // VERIFY, and TOKEN INFO for the object cache in the same transaction.
  step("C_Login", transaction(2), [&] {
    return p11()->C_Login(s, CKU_USER,
                          reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123456")), 6);
  });
  CK_OBJECT_CLASS private_key = CKO_PRIVATE_KEY;
  CK_BYTE id = 1;
  CK_ATTRIBUTE match[] = {{CKA_CLASS, &private_key, sizeof private_key}, {CKA_ID, &id, 1}};
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  CK_ULONG found = 0;
  step("C_FindObjectsInit", kNone, [&] { return p11()->C_FindObjectsInit(s, match, 2); });
  step("C_FindObjects", kNone, [&] { return p11()->C_FindObjects(s, &key, 1, &found); });
  step("C_FindObjectsFinal", kNone, [&] { return p11()->C_FindObjectsFinal(s); });
  ASSERT_EQ(found, 1u);
  CK_BYTE label[64];
  CK_ATTRIBUTE attribute = {CKA_LABEL, label, sizeof label};
  step("C_GetAttributeValue", kNone,
       [&] { return p11()->C_GetAttributeValue(s, key, &attribute, 1); });
  CK_MECHANISM ecdsa{CKM_ECDSA, nullptr, 0};
  step("C_SignInit", kNone, [&] { return p11()->C_SignInit(s, &ecdsa, key); });
  CK_BYTE digest[32] = {1, 2, 3}, signature[64];
  CK_ULONG length = sizeof signature;
  step("C_Sign", transaction(1),
       [&] { return p11()->C_Sign(s, digest, sizeof digest, signature, &length); });
  step("C_Logout", transaction(1), [&] { return p11()->C_Logout(s); });
  step("C_CloseSession", kNone, [&] { return p11()->C_CloseSession(s); });
  EXPECT_LE(total(all), 10u) << text(all);
}

// Without the login's reading, a search reads the change counter itself, every time: another
// process's write shows at the next search (docs/pkcs11.md 7.2).
TEST_F(PcscCalls, SearchWithoutLogin_ReadsTheChangeCounterEachTime) {
  CK_SESSION_HANDLE s = 0;
  ASSERT_EQ(p11()->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &s), CKR_OK);
  for (int i = 0; i < 2; ++i) {
    const Calls made = during([&] { p11()->C_FindObjectsInit(s, nullptr, 0); });
    EXPECT_EQ(made, transaction(1)) << "search " << i << " made: " << text(made);
    p11()->C_FindObjectsFinal(s);
  }
}

// The login's reading serves only the next search of the same session, with no transaction
// between: after C_Sign, a search asks again.
TEST_F(PcscCalls, SearchAfterAnotherTransaction_ReadsTheChangeCounterAgain) {
  CK_SESSION_HANDLE s = 0;
  ASSERT_EQ(p11()->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &s), CKR_OK);
  ASSERT_EQ(p11()->C_Login(s, CKU_USER,
                           reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123456")), 6),
            CKR_OK);
  CK_BYTE random[8];
  ASSERT_EQ(p11()->C_GenerateRandom(s, random, sizeof random), CKR_OK);
  const Calls made = during([&] { p11()->C_FindObjectsInit(s, nullptr, 0); });
  EXPECT_EQ(made, transaction(1)) << text(made);
  p11()->C_FindObjectsFinal(s);
}

// A slot listing is one reader listing and one state query for all readers; a token the module
// holds a connection to is not connected to again, and an empty reader never is.
TEST_F(PcscCalls, SlotList_OneListingAndOneStateQuery) {
  CK_SLOT_ID slots[8];
  CK_ULONG count = 8;
  const Calls present = during([&] { p11()->C_GetSlotList(CK_TRUE, slots, &count); });
  EXPECT_EQ(present, (Calls{{"SCardListReaders", 1}, {"SCardGetStatusChange", 1}}))
      << text(present);
  count = 8;
  const Calls all = during([&] { p11()->C_GetSlotList(CK_FALSE, slots, &count); });
  EXPECT_EQ(all, (Calls{{"SCardListReaders", 1}})) << text(all);
}

// One PC/SC context for the module's life, whatever the C_Initialize/C_Finalize cycles; the
// harness's second reader has no card and is never connected to.
TEST_F(PcscCalls, ColdStart_NoNewContext_AndAConnectOnlyWhereACardIs) {
  ASSERT_EQ(p11()->C_Finalize(nullptr), CKR_OK);
  const Calls cold = during([&] {
    ASSERT_EQ(p11()->C_Initialize(nullptr), CKR_OK);
    CK_SLOT_ID slots[8];
    CK_ULONG count = 8;
    ASSERT_EQ(p11()->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK);
    ASSERT_EQ(count, 1u);
  });
  EXPECT_EQ(cold.count("SCardEstablishContext"), 0u) << text(cold);
  EXPECT_EQ(cold.count("SCardStatus"), 0u) << text(cold);
  EXPECT_EQ(cold.at("SCardListReaders"), 1u) << text(cold);
  EXPECT_EQ(cold.at("SCardConnect"), 1u) << text(cold);
}

// A forked child cannot use its parent's context (they would share a socket): it makes its
// own, and the parent's goes on working.
TEST_F(PcscCalls, ForkedChild_MakesAContextOfItsOwn_AndTheParentsStillWorks) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const Calls made = during([&] {
      CK_SLOT_ID slots[8];
      CK_ULONG count = 8;
      if (p11()->C_Initialize(nullptr) != CKR_OK ||
          p11()->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK || count != 1)
        ::_exit(2);
    });
    ::_exit(made.count("SCardEstablishContext") && made.at("SCardEstablishContext") == 1 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  CK_SESSION_HANDLE s = 0;
  EXPECT_EQ(module_.logged_in(s), CKR_OK);
  EXPECT_NE(module_.find(s, CKO_PRIVATE_KEY, 1), CK_INVALID_HANDLE);
}

}  // namespace
