// libcertkey-pkcs11.so under the conditions real desks produce: tokens pulled and
// put back, pcscd restarting, other processes resetting the card or signing at the same
// time, other processes changing the token, slot events, and remote unlock and the swap of
// two key slots through the vendor interface. Runs inside tests/harness/with-tokens (see
// CMakeLists.txt): it uses the simulator's control socket, pcsc-wait and the harness's pcscd
// restart command.
#include <PCSC/winscard.h>
#include <certkey/card/openssl_ptr.hpp>
#include <certkey/card/token_client.hpp>
#include <certkey/card/unlock.hpp>
#include <certkey/protocol/defaults.hpp>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <p11-kit/pkcs11.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include <certkey/pkcs11_vendor.h>
}

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

int run(const std::string& command) { return std::system(command.c_str()); }

std::string preload_asan() {
#if defined(__SANITIZE_ADDRESS__)
  return "export LD_PRELOAD=\"$(gcc -print-file-name=libasan.so) $(gcc "
         "-print-file-name=libstdc++.so)\" && ";
#else
  return "";
#endif
}

std::string sim(const std::string& args) {
  std::string cmd = env("CERTKEY_BUILD") + "/agent/sim/certkey-sim ctl --control " +
                    env("CERTKEY_SIM_CONTROL") + " " + args;
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
  }
  return out;
}

void wait_reader(bool present) {
  std::string cmd = env("CERTKEY_BUILD") +
                    "/tests/harness/pcsc-wait --timeout 30 --reader 'certkey token1 00 00' " +
                    (present ? "--present" : "--absent");
  ASSERT_EQ(run(cmd), 0);
}

std::uint64_t apdu_count() {
  std::string out = sim("stats token1");  // "ok apdus=N"
  return std::stoull(out.substr(out.find('=') + 1));
}

using Bytes = std::vector<std::uint8_t>;

// A P-256 public key from its uncompressed point (CKA_EC_POINT, with or without its DER
// OCTET STRING wrapper).
certkey::card::PkeyPtr p256_public_key(Bytes point) {
  if (point.size() == 67 && point[0] == 0x04 && point[1] == 65) {
    point.erase(point.begin(), point.begin() + 2);
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>("P-256"), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  certkey::card::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return nullptr;
  }
  return certkey::card::PkeyPtr(key);
}

// A DER certificate for `subject` named CN=`cn`, issued by a throwaway CA key.
Bytes issue_certificate(EVP_PKEY* subject, const char* cn) {
  certkey::card::X509Ptr x(X509_new());
  certkey::card::PkeyPtr ca(EVP_EC_gen("P-256"));
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 0x5A5A);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), subject);
  if (!ca || X509_sign(x.get(), ca.get(), EVP_sha256()) <= 0) return {};
  int n = i2d_X509(x.get(), nullptr);
  Bytes der(static_cast<std::size_t>(n > 0 ? n : 0));
  unsigned char* out = der.data();
  i2d_X509(x.get(), &out);
  return der;
}

// An ECDSA P-256 signature as PKCS#11 returns it (r || s) over SHA-256(data), checked by OpenSSL.
bool verifies(EVP_PKEY* key, const Bytes& data, const Bytes& raw_signature) {
  if (raw_signature.size() != 64) return false;
  certkey::card::EcdsaSigPtr sig(ECDSA_SIG_new());
  ECDSA_SIG_set0(sig.get(), BN_bin2bn(raw_signature.data(), 32, nullptr),
                 BN_bin2bn(raw_signature.data() + 32, 32, nullptr));
  int n = i2d_ECDSA_SIG(sig.get(), nullptr);
  Bytes der(static_cast<std::size_t>(n > 0 ? n : 0));
  unsigned char* out = der.data();
  i2d_ECDSA_SIG(sig.get(), &out);
  certkey::card::MdCtxPtr md(EVP_MD_CTX_new());
  return EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(md.get(), der.data(), der.size(), data.data(), data.size()) == 1;
}

Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const Bytes& data) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

class Module : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string module =
        !env("CERTKEY_MODULE").empty()
            ? env("CERTKEY_MODULE")
            : env("CERTKEY_BUILD") + "/pkcs11-module/src/libcertkey-pkcs11.so";
    ::setenv("CERTKEY_MODULE", module.c_str(), 1);  // for the pkcs11-tool this test runs
    handle_ = dlopen(module.c_str(), RTLD_NOW);
    ASSERT_NE(handle_, nullptr) << dlerror();
    auto get =
        reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(dlsym(handle_, "C_GetFunctionList"));
    ASSERT_EQ(get(&p11_), CKR_OK);
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    ASSERT_EQ(p11_->C_Initialize(&args), CKR_OK);
    slot_ = first_token_slot();
  }
  void TearDown() override {
    if (p11_) p11_->C_Finalize(nullptr);
    if (handle_) dlclose(handle_);
  }
  CK_SLOT_ID first_token_slot() {
    CK_ULONG n = 16;
    CK_SLOT_ID slots[16];
    EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    EXPECT_GE(n, 1u);
    return n ? slots[0] : 0;
  }
  CK_SESSION_HANDLE open_logged_in() {
    CK_SESSION_HANDLE s = 0;
    EXPECT_EQ(p11_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s),
              CKR_OK);
    CK_RV rv = p11_->C_Login(s, CKU_USER,
                             reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123456")), 6);
    EXPECT_TRUE(rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) << rv;
    return s;
  }
  // An EC key in 9A (generated once per token by the first test that needs it).
  CK_OBJECT_HANDLE private_key(CK_SESSION_HANDLE s) {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}};
    CK_OBJECT_HANDLE h = 0;
    CK_ULONG n = 0;
    p11_->C_FindObjectsInit(s, t, 1);
    p11_->C_FindObjects(s, &h, 1, &n);
    p11_->C_FindObjectsFinal(s);
    if (n == 1) return h;
    CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_BYTE p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    CK_BYTE id[] = {0x01};
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pub[] = {
        {CKA_EC_PARAMS, p256, sizeof p256}, {CKA_ID, id, 1}, {CKA_TOKEN, &yes, 1}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, 1}};
    CK_OBJECT_HANDLE pub_h = 0, priv_h = 0;
    EXPECT_EQ(p11_->C_GenerateKeyPair(s, &mech, pub, 3, priv, 1, &pub_h, &priv_h), CKR_OK);
    return priv_h;
  }
  CK_RV sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
    CK_MECHANISM mech{CKM_ECDSA_SHA256, nullptr, 0};
    CK_RV rv = p11_->C_SignInit(s, &mech, key);
    if (rv != CKR_OK) return rv;
    CK_BYTE data[] = "certkey", sig[128];
    CK_ULONG len = sizeof sig;
    return p11_->C_Sign(s, data, sizeof data, sig, &len);
  }
  std::vector<CK_OBJECT_HANDLE> certificates(CK_SESSION_HANDLE s) {
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}};
    std::vector<CK_OBJECT_HANDLE> found(32);
    CK_ULONG n = 0;
    EXPECT_EQ(p11_->C_FindObjectsInit(s, t, 1), CKR_OK);
    EXPECT_EQ(p11_->C_FindObjects(s, found.data(), found.size(), &n), CKR_OK);
    EXPECT_EQ(p11_->C_FindObjectsFinal(s), CKR_OK);
    found.resize(n);
    return found;
  }
  // The vendor interface at the version this test was built against.
  CK_CERTKEY_FUNCTION_LIST* vendor_interface(CK_VERSION version = {CERTKEY_VENDOR_VERSION_MAJOR,
                                                                   CERTKEY_VENDOR_VERSION_MINOR}) {
    auto get_interface =
        reinterpret_cast<CK_RV (*)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, void**, CK_FLAGS)>(
            dlsym(handle_, "C_GetInterface"));
    if (!get_interface) return nullptr;
    struct Interface {
      CK_CHAR* name;
      void* functions;
      CK_FLAGS flags;
    }* iface = nullptr;
    if (get_interface(
            reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(CERTKEY_VENDOR_INTERFACE_NAME)),
            &version, reinterpret_cast<void**>(&iface), 0) != CKR_OK) {
      return nullptr;
    }
    return static_cast<CK_CERTKEY_FUNCTION_LIST*>(iface->functions);
  }
  // The one object of `cls` with CKA_ID `id`, found afresh.
  CK_OBJECT_HANDLE find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, CK_BYTE id) {
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, &id, 1}};
    CK_OBJECT_HANDLE found[2] = {};
    CK_ULONG n = 0;
    EXPECT_EQ(p11_->C_FindObjectsInit(s, t, 2), CKR_OK);
    EXPECT_EQ(p11_->C_FindObjects(s, found, 2, &n), CKR_OK);
    EXPECT_EQ(p11_->C_FindObjectsFinal(s), CKR_OK);
    EXPECT_EQ(n, 1u) << "class " << cls << ", id " << int{id};
    return n == 1 ? found[0] : CK_INVALID_HANDLE;
  }
  Bytes attribute(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    if (p11_->C_GetAttributeValue(s, h, &a, 1) != CKR_OK) return {};
    Bytes value(a.ulValueLen);
    a.pValue = value.data();
    EXPECT_EQ(p11_->C_GetAttributeValue(s, h, &a, 1), CKR_OK);
    return value;
  }
  // A P-256 key pair generated on the token under CKA_ID `id`; returns its public key.
  certkey::card::PkeyPtr generate_p256(CK_SESSION_HANDLE s, CK_BYTE id) {
    CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_BYTE p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pub[] = {
        {CKA_EC_PARAMS, p256, sizeof p256}, {CKA_ID, &id, 1}, {CKA_TOKEN, &yes, 1}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, 1}};
    CK_OBJECT_HANDLE pub_h = 0, priv_h = 0;
    EXPECT_EQ(p11_->C_GenerateKeyPair(s, &mech, pub, 3, priv, 1, &pub_h, &priv_h), CKR_OK);
    return p256_public_key(attribute(s, pub_h, CKA_EC_POINT));
  }
  CK_RV store_certificate(CK_SESSION_HANDLE s, CK_BYTE id, const Bytes& der) {
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_CERTIFICATE_TYPE, &type, sizeof type},
                        {CKA_ID, &id, 1},
                        {CKA_VALUE, const_cast<CK_BYTE*>(der.data()), der.size()}};
    CK_OBJECT_HANDLE h = 0;
    return p11_->C_CreateObject(s, t, 4, &h);
  }
  Bytes sign_with(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const Bytes& data) {
    CK_MECHANISM mech{CKM_ECDSA_SHA256, nullptr, 0};
    EXPECT_EQ(p11_->C_SignInit(s, &mech, key), CKR_OK);
    Bytes sig(128);
    CK_ULONG len = sig.size();
    EXPECT_EQ(p11_->C_Sign(s, const_cast<CK_BYTE*>(data.data()), data.size(), sig.data(), &len),
              CKR_OK);
    sig.resize(len);
    return sig;
  }

  void* handle_ = nullptr;
  CK_FUNCTION_LIST_PTR p11_ = nullptr;
  CK_SLOT_ID slot_ = 0;
};

// PKCS#11 3.0 return values: what a strict caller checks first comes first (initialisation,
// session, object, arguments), and C_Login answers only with its own codes.
TEST_F(Module, ReturnValues_ComeInTheStandardsOrder) {
  CK_BYTE buffer[8];
  CK_UTF8CHAR label[] = "x";
  CK_ATTRIBUTE relabel[] = {{CKA_LABEL, label, 1}};
  EXPECT_EQ(p11_->C_GenerateRandom(0xdead, buffer, sizeof buffer), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(p11_->C_SeedRandom(0xdead, buffer, sizeof buffer), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(p11_->C_SetAttributeValue(0xdead, 1, relabel, 1), CKR_SESSION_HANDLE_INVALID);
  CK_SESSION_HANDLE s = open_logged_in();
  EXPECT_EQ(p11_->C_GenerateRandom(s, nullptr, 8), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(p11_->C_SeedRandom(s, buffer, sizeof buffer), CKR_RANDOM_SEED_NOT_SUPPORTED);
  EXPECT_EQ(p11_->C_SetAttributeValue(s, 0, relabel, 1), CKR_OBJECT_HANDLE_INVALID);
  const std::vector<CK_OBJECT_HANDLE> certs = certificates(s);
  if (!certs.empty())
    EXPECT_EQ(p11_->C_SetAttributeValue(s, certs[0], relabel, 1), CKR_ACTION_PROHIBITED);
  // A PIN of a length no PIN has: not the PIN, and no try spent (the right one still works).
  EXPECT_EQ(p11_->C_Logout(s), CKR_OK);
  EXPECT_EQ(
      p11_->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123")), 3),
      CKR_PIN_INCORRECT);
  EXPECT_EQ(p11_->C_Login(s, CKU_USER,
                          reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123456789")), 9),
            CKR_PIN_INCORRECT);
  EXPECT_EQ(
      p11_->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123456")), 6),
      CKR_OK);
  p11_->C_CloseSession(s);
  p11_->C_Finalize(nullptr);
  EXPECT_EQ(p11_->C_GenerateRandom(s, buffer, sizeof buffer), CKR_CRYPTOKI_NOT_INITIALIZED);
  EXPECT_EQ(p11_->C_SetAttributeValue(s, 1, relabel, 1), CKR_CRYPTOKI_NOT_INITIALIZED);
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  ASSERT_EQ(p11_->C_Initialize(&args), CKR_OK);  // for TearDown
}

// The token's random source through C_GenerateRandom: more than one GET CHALLENGE's worth,
// no login needed, never the same twice; CKF_RNG says so.
TEST_F(Module, GenerateRandom_ComesFromTheToken) {
  CK_TOKEN_INFO info;
  ASSERT_EQ(p11_->C_GetTokenInfo(slot_, &info), CKR_OK);
  EXPECT_TRUE(info.flags & CKF_RNG);
  CK_SESSION_HANDLE s = 0;
  ASSERT_EQ(p11_->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &s), CKR_OK);
  std::vector<CK_BYTE> first(600), second(600);
  ASSERT_EQ(p11_->C_GenerateRandom(s, first.data(), first.size()), CKR_OK);
  ASSERT_EQ(p11_->C_GenerateRandom(s, second.data(), second.size()), CKR_OK);
  EXPECT_NE(first, second);
  EXPECT_NE(std::count(first.begin(), first.end(), 0), static_cast<long>(first.size()));
  EXPECT_EQ(p11_->C_GenerateRandom(s, nullptr, 0), CKR_OK);
  p11_->C_CloseSession(s);
}

// A key-pair template without CKA_TOKEN asks for session keys, the standard's default, which
// a PIV token cannot hold: refused, never made into token keys behind the caller's back.
TEST_F(Module, GenerateKeyPair_WithoutCkaToken_IsRefused) {
  CK_SESSION_HANDLE s = open_logged_in();
  CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_BYTE p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
  CK_BYTE id = 0x05;
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE pub[] = {{CKA_EC_PARAMS, p256, sizeof p256}, {CKA_ID, &id, 1}, {CKA_TOKEN, &yes, 1}};
  CK_ATTRIBUTE priv_without[] = {{CKA_ID, &id, 1}};
  CK_ATTRIBUTE priv_with[] = {{CKA_ID, &id, 1}, {CKA_TOKEN, &yes, 1}};
  CK_OBJECT_HANDLE pub_h = 0, priv_h = 0;
  EXPECT_EQ(p11_->C_GenerateKeyPair(s, &mech, pub, 3, priv_without, 1, &pub_h, &priv_h),
            CKR_TEMPLATE_INCONSISTENT);
  EXPECT_EQ(p11_->C_GenerateKeyPair(s, &mech, pub, 2, priv_with, 2, &pub_h, &priv_h),
            CKR_TEMPLATE_INCONSISTENT);
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE find[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, &id, 1}};
  CK_ULONG n = 0;
  ASSERT_EQ(p11_->C_FindObjectsInit(s, find, 2), CKR_OK);
  ASSERT_EQ(p11_->C_FindObjects(s, &priv_h, 1, &n), CKR_OK);
  p11_->C_FindObjectsFinal(s);
  EXPECT_EQ(n, 0u);  // nothing was generated
  p11_->C_CloseSession(s);
}

// The template is an argument: its code comes before the read-only session and the login
// (docs/pkcs11.md 8.7).
TEST_F(Module, CreateObject_TemplateIsCheckedBeforeSessionStateAndLogin) {
  CK_SESSION_HANDLE s = 0;
  ASSERT_EQ(p11_->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &s), CKR_OK);
  CK_OBJECT_CLASS cert = CKO_CERTIFICATE, key = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE no_value[] = {{CKA_CLASS, &cert, sizeof cert}};
  CK_ATTRIBUTE wrong_class[] = {{CKA_CLASS, &key, sizeof key}};
  CK_OBJECT_HANDLE h = 0;
  EXPECT_EQ(p11_->C_CreateObject(s, no_value, 1, &h), CKR_TEMPLATE_INCOMPLETE);
  EXPECT_EQ(p11_->C_CreateObject(s, wrong_class, 1, &h), CKR_TEMPLATE_INCONSISTENT);
  p11_->C_CloseSession(s);
}

// docs/pkcs11.md 8.7: initialisation, then the arguments, then the session handle.
TEST_F(Module, ArgumentsAreCheckedAfterInitialisationAndBeforeTheSessionHandle) {
  const CK_SESSION_HANDLE bad = 0xBAD;
  CK_MECHANISM sha256{CKM_SHA256, nullptr, 0};
  CK_BYTE data[4] = {}, out[64];
  CK_ULONG n = 0;
  CK_SESSION_INFO info;
  EXPECT_EQ(p11_->C_GetSessionInfo(bad, nullptr), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(p11_->C_SignInit(bad, nullptr, 1), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(p11_->C_Sign(bad, data, sizeof data, out, nullptr), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(p11_->C_FindObjects(bad, nullptr, 1, &n), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(p11_->C_GetAttributeValue(bad, 1, nullptr, 1), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(p11_->C_DigestInit(bad, nullptr), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(p11_->C_GenerateRandom(bad, nullptr, 8), CKR_ARGUMENTS_BAD);
  // A mechanism the function does not take is an argument too.
  CK_MECHANISM md5{CKM_MD5, nullptr, 0};
  EXPECT_EQ(p11_->C_SignInit(bad, &md5, 1), CKR_MECHANISM_INVALID);
  EXPECT_EQ(p11_->C_DigestInit(bad, &md5), CKR_MECHANISM_INVALID);
  EXPECT_EQ(p11_->C_GenerateKeyPair(bad, &md5, nullptr, 0, nullptr, 0, &n, &n),
            CKR_MECHANISM_INVALID);
  // With good arguments the session handle is next.
  EXPECT_EQ(p11_->C_GetSessionInfo(bad, &info), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(p11_->C_DigestInit(bad, &sha256), CKR_SESSION_HANDLE_INVALID);
  // And before C_Initialize, nothing else counts.
  ASSERT_EQ(p11_->C_Finalize(nullptr), CKR_OK);
  EXPECT_EQ(p11_->C_GetSessionInfo(bad, nullptr), CKR_CRYPTOKI_NOT_INITIALIZED);
  EXPECT_EQ(p11_->C_Sign(bad, data, sizeof data, out, nullptr), CKR_CRYPTOKI_NOT_INITIALIZED);
  ASSERT_EQ(p11_->C_Initialize(nullptr), CKR_OK);
}

TEST_F(Module, TokenRemovedMidSession_ReportsRemovalThenWorksAfterReinsertion) {
  CK_SESSION_HANDLE s = open_logged_in();
  CK_OBJECT_HANDLE key = private_key(s);
  ASSERT_EQ(sign(s, key), CKR_OK);
  ASSERT_EQ(sim("remove token1"), "ok\n");
  wait_reader(false);
  CK_RV rv = sign(s, key);
  EXPECT_TRUE(rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT ||
              rv == CKR_SESSION_HANDLE_INVALID)
      << rv;
  CK_SESSION_HANDLE again = 0;
  EXPECT_EQ(p11_->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &again),
            CKR_TOKEN_NOT_PRESENT);
  ASSERT_EQ(sim("insert token1"), "ok\n");
  wait_reader(true);
  CK_SESSION_HANDLE fresh = open_logged_in();
  EXPECT_EQ(sign(fresh, private_key(fresh)), CKR_OK);
}

TEST_F(Module, SlotId_SameAfterReplugAndInAnotherProcess) {
  const CK_SLOT_ID before = slot_;
  ASSERT_EQ(sim("remove token1"), "ok\n");
  wait_reader(false);
  ASSERT_EQ(sim("insert token1"), "ok\n");
  wait_reader(true);
  EXPECT_EQ(first_token_slot(), before);
  // A new process (new module instance) numbers the slot the same way.
  p11_->C_Finalize(nullptr);
  ASSERT_EQ(p11_->C_Initialize(nullptr), CKR_OK);
  EXPECT_EQ(first_token_slot(), before);
}

TEST_F(Module, WaitForSlotEvent_ReportsRemovalAndInsertion) {
  CK_SLOT_ID event = 0;
  EXPECT_EQ(p11_->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, nullptr), CKR_NO_EVENT);
  ASSERT_EQ(sim("remove token1"), "ok\n");
  wait_reader(false);
  EXPECT_EQ(p11_->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, nullptr), CKR_OK);
  EXPECT_EQ(event, slot_);
  EXPECT_EQ(p11_->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, nullptr), CKR_NO_EVENT);
  // Blocking: insert from another thread once this one waits in pcscd.
  std::thread inserter([] { sim("insert token1"); });
  event = 0;
  EXPECT_EQ(p11_->C_WaitForSlotEvent(0, &event, nullptr), CKR_OK);
  EXPECT_EQ(event, slot_);
  inserter.join();
}

TEST_F(Module, CardResetByAnotherProcess_SessionKeepsWorking) {
  CK_SESSION_HANDLE s = open_logged_in();
  CK_OBJECT_HANDLE key = private_key(s);
  ASSERT_EQ(sign(s, key), CKR_OK);
  // Another application resets the card: the token loses its PIN state.
  SCARDCONTEXT ctx;
  SCARDHANDLE card;
  DWORD protocol;
  ASSERT_EQ(SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx), SCARD_S_SUCCESS);
  ASSERT_EQ(SCardConnect(ctx, "certkey token1 00 00", SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &card,
                         &protocol),
            SCARD_S_SUCCESS);
  ASSERT_EQ(SCardDisconnect(card, SCARD_RESET_CARD), SCARD_S_SUCCESS);
  SCardReleaseContext(ctx);
  // A slot listing between reads the readers' states: a reset is no new insertion of the card
  // (docs/pkcs11.md 4), so the session lives on.
  CK_ULONG count = 0;
  EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, nullptr, &count), CKR_OK);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(sign(s, key), CKR_OK);
}

TEST_F(Module, PcscdRestart_IsSurvived) {
  CK_SESSION_HANDLE s = open_logged_in();
  CK_OBJECT_HANDLE key = private_key(s);
  ASSERT_EQ(sign(s, key), CKR_OK);
  ASSERT_EQ(run(env("CERTKEY_RESTART_PCSCD")), 0);
  EXPECT_EQ(sign(s, key), CKR_OK);
}

// The restart noticed first by a slot listing: its reader states come from a new PC/SC
// context, whose card counts start afresh, so the module finds the token again by its serial
// and keeps the session and the login (docs/pkcs11.md 8.4).
TEST_F(Module, PcscdRestart_NoticedByASlotListing_SessionAndLoginSurvive) {
  CK_SESSION_HANDLE s = open_logged_in();
  CK_OBJECT_HANDLE key = private_key(s);
  ASSERT_EQ(sign(s, key), CKR_OK);
  ASSERT_EQ(run(env("CERTKEY_RESTART_PCSCD")), 0);
  CK_ULONG count = 0;
  EXPECT_EQ(p11_->C_GetSlotList(CK_TRUE, nullptr, &count), CKR_OK);
  EXPECT_EQ(count, 1u);
  CK_SESSION_INFO info{};
  EXPECT_EQ(p11_->C_GetSessionInfo(s, &info), CKR_OK);
  EXPECT_EQ(info.state, CKS_RW_USER_FUNCTIONS);
  EXPECT_EQ(sign(s, key), CKR_OK);
}

TEST_F(Module, TwoProcessesSigningAtOnce_BothSucceed) {
  {
    CK_SESSION_HANDLE s = open_logged_in();
    private_key(s);
    p11_->C_Finalize(nullptr);
  }
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    pid_t pid = fork();
    if (pid == 0) {
      CK_C_INITIALIZE_ARGS args{};
      args.flags = CKF_OS_LOCKING_OK;
      bool ok = p11_->C_Initialize(&args) == CKR_OK;
      slot_ = first_token_slot();
      CK_SESSION_HANDLE s = open_logged_in();
      CK_OBJECT_HANDLE key = private_key(s);
      for (int i = 0; i < 20 && ok; ++i) ok = sign(s, key) == CKR_OK;
      _exit(ok ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ASSERT_EQ(p11_->C_Initialize(nullptr), CKR_OK);  // for TearDown
}

TEST_F(Module, CertificateWrittenByAnotherProcess_IsSeenAndWarmListingCostsOneApdu) {
  CK_SESSION_HANDLE s = open_logged_in();
  private_key(s);
  const std::size_t before = certificates(s).size();
  const std::uint64_t apdus = apdu_count();
  certificates(s);
  EXPECT_LE(apdu_count() - apdus, 1u) << "a warm listing must cost at most one APDU";
  // Another process writes a certificate: the change counter moves, and we see it. Under
  // AddressSanitizer, pkcs11-tool needs the ASan runtime preloaded to load the module.
  ASSERT_EQ(run("cd \"$(mktemp -d)\" && " + preload_asan() +
                "openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                "-keyout /dev/null -subj /CN=other-process -outform DER -out c.der 2>/dev/null && "
                "pkcs11-tool --module \"$CERTKEY_MODULE\" --login --pin 123456 --write-object "
                "c.der --type cert "
                "--id 04 >/dev/null 2>&1"),
            0);
  EXPECT_EQ(certificates(s).size(), before + 1);
}

TEST_F(Module, VendorInterface_RemoteUnlockEndToEnd) {
  // Issuance (a CA step, done here through the card library): the unlock key from a master key.
  const certkey::card::Bytes master(32, 0x33);
  std::uint32_t serial = 0;
  {
    certkey::card::Connection connection("certkey token1 00 00");
    certkey::card::TokenClient client(connection);
    client.select_piv();
    serial = client.token_info().serial;
    const auto& k = certkey::protocol::kDefaultManagementKey;
    client.authenticate_management(certkey::card::Bytes(k.begin(), k.end()),
                                   certkey::protocol::Algorithm::tdes);
    client.set_unlock_key(certkey::card::unlock::derive_unlock_key(master, serial), 3);
  }
  auto get_interface =
      reinterpret_cast<CK_RV (*)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, void**, CK_FLAGS)>(
          dlsym(handle_, "C_GetInterface"));
  ASSERT_NE(get_interface, nullptr);
  struct Interface {
    CK_CHAR* name;
    void* functions;
    CK_FLAGS flags;
  }* iface = nullptr;
  ASSERT_EQ(get_interface(
                reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(CERTKEY_VENDOR_INTERFACE_NAME)),
                nullptr, reinterpret_cast<void**>(&iface), 0),
            CKR_OK);
  auto* vendor = static_cast<CK_CERTKEY_FUNCTION_LIST*>(iface->functions);
  CK_CERTKEY_TOKEN_INFO info{};
  ASSERT_EQ(vendor->C_CertkeyGetTokenInfo(slot_, &info), CKR_OK);
  EXPECT_EQ(info.serial, serial);
  EXPECT_EQ(info.unlock_retries, 3u);
  // The holder locks the PIN.
  CK_SESSION_HANDLE s = 0;
  ASSERT_EQ(p11_->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &s), CKR_OK);
  for (int i = 0; i < 3; ++i)
    p11_->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("000000")), 6);
  EXPECT_EQ(
      p11_->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123456")), 6),
      CKR_PIN_LOCKED);
  // Challenge -> code read out -> help desk -> code read back -> response.
  CK_BYTE challenge[CERTKEY_UNLOCK_CODE_LENGTH];
  ASSERT_EQ(vendor->C_CertkeyUnlockChallenge(slot_, challenge), CKR_OK);
  certkey::card::unlock::Code code{};
  std::copy(challenge, challenge + code.size(), code.begin());
  std::string spoken = certkey::card::unlock::encode(code);
  auto answer = certkey::card::unlock::compute_response(
      certkey::card::unlock::derive_unlock_key(master, serial), serial,
      certkey::card::unlock::decode(spoken));
  auto heard = certkey::card::unlock::decode(certkey::card::unlock::encode(answer));
  CK_UTF8CHAR pin[] = "777777";
  ASSERT_EQ(vendor->C_CertkeyUnlockResponse(slot_, heard.data(), pin, 6), CKR_OK);
  EXPECT_EQ(p11_->C_Login(s, CKU_USER, pin, 6), CKR_OK);
  // A second answer to the same challenge is refused.
  EXPECT_EQ(vendor->C_CertkeyUnlockResponse(slot_, heard.data(), pin, 6),
            CKR_OPERATION_NOT_INITIALIZED);
}

TEST_F(Module, VendorInterface_SwapSlotsMakesTheRenewedPairCurrent) {
  // The current key and certificate in 9A (CKA_ID 01); the renewed pair in retired slot 82
  // (CKA_ID 05), as a renewal leaves them before "make current".
  CK_SESSION_HANDLE s = open_logged_in();
  certkey::card::PkeyPtr current = generate_p256(s, 0x01);
  certkey::card::PkeyPtr renewed = generate_p256(s, 0x05);
  ASSERT_TRUE(current && renewed);
  const Bytes current_certificate = issue_certificate(current.get(), "current");
  const Bytes renewed_certificate = issue_certificate(renewed.get(), "renewed");
  ASSERT_EQ(store_certificate(s, 0x01, current_certificate), CKR_OK);
  ASSERT_EQ(store_certificate(s, 0x05, renewed_certificate), CKR_OK);
  ASSERT_EQ(attribute(s, find(s, CKO_CERTIFICATE, 0x01), CKA_VALUE),
            current_certificate);  // cache warm

  // The vendor interface answers a request for its current version, and one for 2.0 (an
  // older host) with the same, longer list.
  CK_CERTKEY_FUNCTION_LIST* vendor = vendor_interface();
  ASSERT_NE(vendor, nullptr);
  EXPECT_EQ(vendor->version.major, CERTKEY_VENDOR_VERSION_MAJOR);
  EXPECT_EQ(vendor->version.minor, CERTKEY_VENDOR_VERSION_MINOR);
  EXPECT_EQ(vendor_interface({2, 0}), vendor);
  EXPECT_EQ(vendor_interface({3, 0}), nullptr);
  CK_CERTKEY_TOKEN_INFO before{};
  ASSERT_EQ(vendor->C_CertkeyGetTokenInfo(slot_, &before), CKR_OK);

  EXPECT_EQ(vendor->C_CertkeySwapSlots(slot_, 0x01, 0x01), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(vendor->C_CertkeySwapSlots(slot_, 0x01, 0x00), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(vendor->C_CertkeySwapSlots(slot_, 0x19, 0x05), CKR_ARGUMENTS_BAD) << "no CKA_ID 19";
  EXPECT_EQ(vendor->C_CertkeySwapSlots(slot_, 0x9A, 0x05), CKR_ARGUMENTS_BAD)
      << "a PIV reference is no CKA_ID";
  EXPECT_EQ(vendor->C_CertkeySwapSlots(slot_, 0x03, 0x04), CKR_KEY_HANDLE_INVALID)
      << "both slots empty";
  ASSERT_EQ(vendor->C_CertkeySwapSlots(slot_, 0x01, 0x05), CKR_OK);
  CK_CERTKEY_TOKEN_INFO after{};
  ASSERT_EQ(vendor->C_CertkeyGetTokenInfo(slot_, &after), CKR_OK);
  EXPECT_EQ(after.change_counter, before.change_counter + 1);

  // A fresh search: id 01 is now the renewed pair, id 05 the former one.
  EXPECT_EQ(attribute(s, find(s, CKO_CERTIFICATE, 0x01), CKA_VALUE), renewed_certificate);
  EXPECT_EQ(attribute(s, find(s, CKO_CERTIFICATE, 0x05), CKA_VALUE), current_certificate);
  certkey::card::PkeyPtr in_01 =
      p256_public_key(attribute(s, find(s, CKO_PUBLIC_KEY, 0x01), CKA_EC_POINT));
  certkey::card::PkeyPtr in_05 =
      p256_public_key(attribute(s, find(s, CKO_PUBLIC_KEY, 0x05), CKA_EC_POINT));
  ASSERT_TRUE(in_01 && in_05);
  EXPECT_EQ(EVP_PKEY_eq(in_01.get(), renewed.get()), 1);
  EXPECT_EQ(EVP_PKEY_eq(in_05.get(), current.get()), 1);
  const Bytes data = {'m', 'a', 'k', 'e', ' ', 'c', 'u', 'r', 'r', 'e', 'n', 't'};
  EXPECT_TRUE(verifies(renewed.get(), data, sign_with(s, find(s, CKO_PRIVATE_KEY, 0x01), data)));
  EXPECT_TRUE(verifies(current.get(), data, sign_with(s, find(s, CKO_PRIVATE_KEY, 0x05), data)));

  // Without a login the swap is refused, like any write.
  ASSERT_EQ(p11_->C_Logout(s), CKR_OK);
  EXPECT_EQ(vendor->C_CertkeySwapSlots(slot_, 0x01, 0x05), CKR_USER_NOT_LOGGED_IN);

  // Another process sees the same: its certificate for id 01, and a signature with id 01
  // that verifies with the renewed public key.
  char dir_template[] = "/tmp/certkey-swap-XXXXXX";
  const char* dir = mkdtemp(dir_template);
  ASSERT_NE(dir, nullptr);
  const std::string d = dir;
  write_file(d + "/data", data);
  {
    FILE* pem = std::fopen((d + "/renewed.pem").c_str(), "w");
    ASSERT_NE(pem, nullptr);
    PEM_write_PUBKEY(pem, renewed.get());
    std::fclose(pem);
  }
  const std::string tool = preload_asan() + "pkcs11-tool --module \"$CERTKEY_MODULE\" ";
  ASSERT_EQ(run(tool + "--read-object --type cert --id 01 -o " + d + "/cert01.der >/dev/null 2>&1"),
            0);
  EXPECT_EQ(read_file(d + "/cert01.der"), renewed_certificate);
  ASSERT_EQ(
      run(tool +
          "--login --pin 123456 --sign --id 01 --mechanism ECDSA-SHA256 --signature-format openssl "
          "-i " +
          d + "/data -o " + d + "/sig >/dev/null 2>&1"),
      0);
  EXPECT_EQ(run("openssl dgst -sha256 -verify " + d + "/renewed.pem -signature " + d + "/sig " + d +
                "/data >/dev/null 2>&1"),
            0);
  run("rm -rf " + d);
}

}  // namespace
