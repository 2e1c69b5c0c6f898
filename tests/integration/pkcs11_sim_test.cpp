// libcertkey-pkcs11.so with a SIM token (docs/pkcs11.md, section 1): the token answers like a UICC
// (T=0), keeps its USIM selected on the basic channel, and the module works on a logical
// channel of its own (MANAGE CHANNEL), with short APDUs, command chaining and GET RESPONSE.
// Runs inside tests/harness/with-tokens --media sim.
#include <PCSC/winscard.h>
#include <dlfcn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gtest/gtest.h>
#include <p11-kit/pkcs11.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* kReader = "certkey token1 00 00";

// Raw PC/SC, outside the module: what another application (the phone stack) sees.
std::vector<unsigned char> basic_channel(const std::vector<unsigned char>& apdu) {
  SCARDCONTEXT ctx;
  SCARDHANDLE card;
  DWORD protocol;
  std::vector<unsigned char> out(258);
  DWORD length = out.size();
  EXPECT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
  EXPECT_EQ(SCardConnect(ctx, kReader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0, &card, &protocol),
            SCARD_S_SUCCESS);
  EXPECT_EQ(protocol, static_cast<DWORD>(SCARD_PROTOCOL_T0));
  EXPECT_EQ(
      SCardTransmit(card, SCARD_PCI_T0, apdu.data(), apdu.size(), nullptr, out.data(), &length),
      SCARD_S_SUCCESS);
  SCardDisconnect(card, SCARD_LEAVE_CARD);
  SCardReleaseContext(ctx);
  out.resize(length);
  return out;
}

class SimToken : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* build = std::getenv("CERTKEY_BUILD");
    ASSERT_NE(build, nullptr);
    handle_ =
        dlopen((std::string(build) + "/pkcs11-module/src/libcertkey-pkcs11.so").c_str(), RTLD_NOW);
    ASSERT_NE(handle_, nullptr) << dlerror();
    auto get =
        reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(dlsym(handle_, "C_GetFunctionList"));
    ASSERT_EQ(get(&p11_), CKR_OK);
    ASSERT_EQ(p11_->C_Initialize(nullptr), CKR_OK);
    CK_ULONG n = 1;
    ASSERT_EQ(p11_->C_GetSlotList(CK_TRUE, &slot_, &n), CKR_OK);
    ASSERT_EQ(n, 1u);
    ASSERT_EQ(p11_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                  &session_),
              CKR_OK);
    ASSERT_EQ(p11_->C_Login(session_, CKU_USER,
                            reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123456")), 6),
              CKR_OK);
  }
  void TearDown() override {
    if (p11_) p11_->C_Finalize(nullptr);
    if (handle_) dlclose(handle_);
  }
  // Generates a key pair and signs with it: RSA exercises chaining and GET RESPONSE on T=0.
  void generate_and_sign(CK_MECHANISM_TYPE generation, CK_ATTRIBUTE* pub, CK_ULONG pub_count,
                         CK_MECHANISM_TYPE sign) {
    CK_MECHANISM mech{generation, nullptr, 0};
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, 1}};
    CK_OBJECT_HANDLE pub_key = 0, priv_key = 0;
    ASSERT_EQ(
        p11_->C_GenerateKeyPair(session_, &mech, pub, pub_count, priv, 1, &pub_key, &priv_key),
        CKR_OK);
    CK_MECHANISM sign_mech{sign, nullptr, 0};
    ASSERT_EQ(p11_->C_SignInit(session_, &sign_mech, priv_key), CKR_OK);
    CK_BYTE data[] = "sim", signature[512];
    CK_ULONG length = sizeof signature;
    ASSERT_EQ(p11_->C_Sign(session_, data, sizeof data, signature, &length), CKR_OK);
  }
  void* handle_ = nullptr;
  CK_FUNCTION_LIST_PTR p11_ = nullptr;
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE session_ = 0;
};

TEST_F(SimToken, ModuleWorksOnALogicalChannelAndLeavesTheUsimSelected) {
  CK_TOKEN_INFO info;
  ASSERT_EQ(p11_->C_GetTokenInfo(slot_, &info), CKR_OK);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(info.model), 3), "SIM");
  CK_BYTE p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}, id9a[] = {0x01};
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE ec[] = {{CKA_EC_PARAMS, p256, sizeof p256}, {CKA_ID, id9a, 1}, {CKA_TOKEN, &yes, 1}};
  generate_and_sign(CKM_EC_KEY_PAIR_GEN, ec, 3, CKM_ECDSA_SHA256);
  CK_ULONG bits = 2048;
  CK_BYTE id9d[] = {0x03};
  CK_ATTRIBUTE rsa[] = {
      {CKA_MODULUS_BITS, &bits, sizeof bits}, {CKA_ID, id9d, 1}, {CKA_TOKEN, &yes, 1}};
  generate_and_sign(CKM_RSA_PKCS_KEY_PAIR_GEN, rsa, 3, CKM_SHA256_RSA_PKCS);
  // STATUS on the basic channel: the USIM is still the selected application there.
  std::vector<unsigned char> status = basic_channel({0x80, 0xF2, 0x00, 0x01, 0x00});
  const std::vector<unsigned char> usim = {0x84, 0x07, 0xA0, 0x00, 0x00, 0x00,
                                           0x87, 0x10, 0x02, 0x90, 0x00};
  EXPECT_EQ(status, usim);
}

TEST_F(SimToken, FinalizeGivesTheLogicalChannelBack) {
  ASSERT_EQ(p11_->C_Finalize(nullptr), CKR_OK);
  p11_ = nullptr;
  // All three logical channels are free again: open and close each.
  for (unsigned char channel = 1; channel <= 3; ++channel) {
    EXPECT_EQ(basic_channel({0x00, 0x70, 0x00, 0x00, 0x01}),
              std::vector<unsigned char>({channel, 0x90, 0x00}));
  }
  for (unsigned char channel = 1; channel <= 3; ++channel) {
    EXPECT_EQ(basic_channel({0x00, 0x70, 0x80, channel}), std::vector<unsigned char>({0x90, 0x00}));
  }
}

}  // namespace

// A process that exits without C_Finalize (as OpenSSL with libp11's engine does) must not
// keep its logical channel: a SIM has three, and the fourth such process would find the
// token gone. The module finalizes itself at exit.
TEST_F(SimToken, ProcessesExitingWithoutFinalizeGiveTheirChannelBack) {
  for (int i = 0; i < 4; ++i) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      CK_SLOT_ID slot = 0;
      CK_ULONG n = 1;
      CK_SESSION_HANDLE session = 0;
      const bool ok =
          p11_->C_Initialize(nullptr) == CKR_OK &&
          p11_->C_GetSlotList(CK_TRUE, &slot, &n) == CKR_OK && n == 1 &&
          p11_->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session) == CKR_OK &&
          p11_->C_Login(session, CKU_USER,
                        reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123456")),
                        6) == CKR_OK;
      std::exit(ok ? 0 : 1);  // no C_Finalize
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "process " << i << " found no token";
  }
}
