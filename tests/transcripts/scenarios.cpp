#define OPENSSL_SUPPRESS_DEPRECATED  // RAND_set_rand_method: the one way to fix RAND_bytes
#include "scenarios.hpp"

#include <certkey/card/error.hpp>
#include <certkey/card/token_client.hpp>
#include <certkey/card/unlock.hpp>
#include <openssl/rand.h>
#include <p11-kit/pkcs11.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace certkey::p11 {
void use_card_links(card::CardLinks& links);  // pkcs11-module/src/module.hpp
}

extern "C" CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

namespace certkey::transcripts {
namespace {

using card::Bytes;

constexpr char kReader[] = "certkey token1 00 00";
constexpr char kPin[] = "123456";
constexpr char kWrongPin[] = "654321";
const Bytes kMessage = {'r', 'e', 'c', 'o', 'r', 'd', 'e', 'd'};
// The certificate the write scenario stores with the EC key (CKA_ID 01, slot 9A): a fixed
// self-signed P-256 certificate kept beside the transcripts.
const Bytes& certificate() {
  static const Bytes der = [] {
    std::ifstream in(CERTKEY_TRANSCRIPT_DATA "/certificate.der", std::ios::binary);
    Bytes bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.empty())
      throw ScenarioFailed("cannot read " CERTKEY_TRANSCRIPT_DATA "/certificate.der");
    return bytes;
  }();
  return der;
}

void check(CK_RV rv, CK_RV expected, const char* call) {
  if (rv == expected) return;
  char text[128];
  std::snprintf(text, sizeof text, "%s answered 0x%lX, not 0x%lX", call, rv, expected);
  throw ScenarioFailed(text);
}

// The module's C API with the transcript standing where the PC/SC readers were.
class Module {
 public:
  explicit Module(card::Transcript& links) : links_(links) {
    // The recordings are of the token alone: no object cache between processes unless a
    // scenario gives one (cold_start), so the replay meets the same misses.
    if (!std::getenv("CERTKEY_TRANSCRIPT_CACHE"))
      ::setenv("XDG_CACHE_HOME", "/dev/null/no-object-cache", 1);
    p11::use_card_links(links);
    check(C_GetFunctionList(&f_), CKR_OK, "C_GetFunctionList");
    step("C_Initialize");
    check(f_->C_Initialize(nullptr), CKR_OK, "C_Initialize");
  }
  ~Module() {
    try {  // a replay that already parted from its transcript has reported where
      links_.mark("C_Finalize");
    } catch (const card::TranscriptDiverged&) {
    }
    f_->C_Finalize(nullptr);
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  void step(const char* call) { links_.mark(call); }
  CK_FUNCTION_LIST* operator->() const { return f_; }

  CK_SLOT_ID slot() {
    step("C_GetSlotList");
    CK_SLOT_ID slots[8];
    CK_ULONG count = 8;
    check(f_->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK, "C_GetSlotList");
    if (count == 0) throw ScenarioFailed("no slot holds a token");
    return slots[0];
  }
  CK_SESSION_HANDLE open(CK_SLOT_ID slot) {
    step("C_OpenSession");
    CK_SESSION_HANDLE session = 0;
    check(f_->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session),
          CKR_OK, "C_OpenSession");
    return session;
  }
  CK_SESSION_HANDLE logged_in() {
    const CK_SESSION_HANDLE session = open(slot());
    login(session, CKR_OK);
    return session;
  }
  void login(CK_SESSION_HANDLE session, CK_RV expected) {
    step("C_Login");
    std::string pin = kPin;
    check(f_->C_Login(session, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin.data()), pin.size()),
          expected, "C_Login");
  }
  CK_OBJECT_HANDLE find(CK_SESSION_HANDLE session, CK_OBJECT_CLASS object_class, CK_BYTE id) {
    step("C_FindObjectsInit");
    CK_ATTRIBUTE match[] = {{CKA_CLASS, &object_class, sizeof object_class}, {CKA_ID, &id, 1}};
    check(f_->C_FindObjectsInit(session, match, 2), CKR_OK, "C_FindObjectsInit");
    step("C_FindObjects");
    CK_OBJECT_HANDLE object = 0;
    CK_ULONG found = 0;
    check(f_->C_FindObjects(session, &object, 1, &found), CKR_OK, "C_FindObjects");
    step("C_FindObjectsFinal");
    check(f_->C_FindObjectsFinal(session), CKR_OK, "C_FindObjectsFinal");
    if (found != 1)
      throw ScenarioFailed("the object with CKA_ID " + std::to_string(id) + " is not there");
    return object;
  }
  Bytes sign(CK_SESSION_HANDLE session, CK_MECHANISM_TYPE mechanism, CK_BYTE id,
             CK_RV expected = CKR_OK) {
    const CK_OBJECT_HANDLE key = find(session, CKO_PRIVATE_KEY, id);
    step("C_SignInit");
    CK_MECHANISM m{mechanism, nullptr, 0};
    check(f_->C_SignInit(session, &m, key), CKR_OK, "C_SignInit");
    step("C_Sign");
    Bytes signature(512);
    CK_ULONG length = signature.size();
    Bytes message = kMessage;
    check(f_->C_Sign(session, message.data(), message.size(), signature.data(), &length), expected,
          "C_Sign");
    signature.resize(expected == CKR_OK ? length : 0);
    return signature;
  }
  void logout_and_close(CK_SESSION_HANDLE session) {
    step("C_Logout");
    check(f_->C_Logout(session), CKR_OK, "C_Logout");
    step("C_CloseSession");
    check(f_->C_CloseSession(session), CKR_OK, "C_CloseSession");
  }

 private:
  card::Transcript& links_;
  CK_FUNCTION_LIST* f_ = nullptr;
};

void login(card::Transcript& links, const std::function<void(Outside)>&) {
  Module m(links);
  const CK_SESSION_HANDLE session = m.open(m.slot());
  m.step("C_Login");
  std::string wrong = kWrongPin;
  check(m->C_Login(session, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(wrong.data()), wrong.size()),
        CKR_PIN_INCORRECT, "C_Login with a wrong PIN");
  m.login(session, CKR_OK);
  m.logout_and_close(session);
}

void generate(card::Transcript& links, CK_KEY_TYPE type, CK_BYTE id) {
  Module m(links);
  const CK_SESSION_HANDLE session = m.logged_in();
  m.step("C_GenerateKeyPair");
  CK_BBOOL yes = CK_TRUE;
  CK_ULONG bits = 2048;
  static const CK_BYTE kP256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
  std::vector<CK_ATTRIBUTE> pub = {{CKA_TOKEN, &yes, sizeof yes}, {CKA_ID, &id, 1}};
  if (type == CKK_EC) {
    pub.push_back({CKA_EC_PARAMS, const_cast<CK_BYTE*>(kP256), sizeof kP256});
  } else {
    pub.push_back({CKA_MODULUS_BITS, &bits, sizeof bits});
  }
  CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, sizeof yes}, {CKA_ID, &id, 1}};
  CK_MECHANISM mechanism{type == CKK_EC ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr,
                         0};
  CK_OBJECT_HANDLE public_key = 0, private_key = 0;
  check(m->C_GenerateKeyPair(session, &mechanism, pub.data(), static_cast<CK_ULONG>(pub.size()),
                             priv, 2, &public_key, &private_key),
        CKR_OK, "C_GenerateKeyPair");
  m.logout_and_close(session);
}

void sign(card::Transcript& links, CK_MECHANISM_TYPE mechanism, CK_BYTE id) {
  Module m(links);
  const CK_SESSION_HANDLE session = m.logged_in();
  if (m.sign(session, mechanism, id).empty()) throw ScenarioFailed("an empty signature");
  m.logout_and_close(session);
}

void write_certificate(card::Transcript& links, const std::function<void(Outside)>&) {
  Module m(links);
  const CK_SESSION_HANDLE session = m.logged_in();
  m.step("C_CreateObject");
  CK_OBJECT_CLASS object_class = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE type = CKC_X_509;
  CK_BBOOL yes = CK_TRUE;
  CK_BYTE id = 1;
  CK_ATTRIBUTE attributes[] = {
      {CKA_CLASS, &object_class, sizeof object_class},
      {CKA_CERTIFICATE_TYPE, &type, sizeof type},
      {CKA_TOKEN, &yes, sizeof yes},
      {CKA_ID, &id, 1},
      {CKA_VALUE, const_cast<std::uint8_t*>(certificate().data()), certificate().size()}};
  CK_OBJECT_HANDLE object = 0;
  check(m->C_CreateObject(session, attributes, 5, &object), CKR_OK, "C_CreateObject");
  m.logout_and_close(session);
}

void read_certificate(card::Transcript& links, const std::function<void(Outside)>&) {
  Module m(links);
  const CK_SESSION_HANDLE session = m.open(m.slot());
  const CK_OBJECT_HANDLE object = m.find(session, CKO_CERTIFICATE, 1);
  m.step("C_GetAttributeValue");
  Bytes value(4096);
  CK_ATTRIBUTE attribute{CKA_VALUE, value.data(), value.size()};
  check(m->C_GetAttributeValue(session, object, &attribute, 1), CKR_OK, "C_GetAttributeValue");
  value.resize(attribute.ulValueLen);
  if (value != certificate()) {
    throw ScenarioFailed("the certificate read back is not the one written");
  }
  m.step("C_CloseSession");
  check(m->C_CloseSession(session), CKR_OK, "C_CloseSession");
}

// A SIM speaks T=0 on a logical channel of its own: the 418-byte certificate goes out in
// chained short APDUs and comes back through GET RESPONSE.
void sim_certificate(card::Transcript& links, const std::function<void(Outside)>& outside) {
  generate(links, CKK_EC, 1);
  write_certificate(links, outside);
  read_certificate(links, outside);
}

// Two processes list the same unchanged token, one after the other, sharing the object cache
// of docs/pkcs11.md 7.1: the first reads everything and keeps it; the second sends only the
// connect's TOKEN INFO.
void cold_start(card::Transcript& links, const std::function<void(Outside)>& outside) {
  char directory[] = "/tmp/certkey-transcript-cache-XXXXXX";
  if (!::mkdtemp(directory)) throw ScenarioFailed("mkdtemp");
  ::setenv("CERTKEY_TRANSCRIPT_CACHE", "1", 1);
  ::setenv("XDG_CACHE_HOME", directory, 1);
  for (int process = 0; process < 2; ++process) read_certificate(links, outside);
  ::unsetenv("CERTKEY_TRANSCRIPT_CACHE");
  std::filesystem::remove_all(directory);
}

// Another process resets the card between login and signing: the module reconnects, verifies
// the PIN again and signs.
void card_reset(card::Transcript& links, const std::function<void(Outside)>& outside) {
  Module m(links);
  const CK_SESSION_HANDLE session = m.logged_in();
  outside(Outside::reset_card);
  if (m.sign(session, CKM_ECDSA_SHA256, 1).empty()) throw ScenarioFailed("an empty signature");
  m.logout_and_close(session);
}

// The token leaves mid-session: the sign fails with CKR_DEVICE_REMOVED, the session is over,
// and once the token is back a new session signs.
void removed_token(card::Transcript& links, const std::function<void(Outside)>& outside) {
  Module m(links);
  const CK_SESSION_HANDLE session = m.logged_in();
  const CK_OBJECT_HANDLE key = m.find(session, CKO_PRIVATE_KEY, 1);
  outside(Outside::remove_token);
  // C_SignInit asks the token nothing (docs/pkcs11.md 4): the removal shows in C_Sign's
  // transaction; the next call on the session finds it ended (docs/pkcs11.md 8.5).
  m.step("C_SignInit");
  CK_MECHANISM mechanism{CKM_ECDSA_SHA256, nullptr, 0};
  check(m->C_SignInit(session, &mechanism, key), CKR_OK, "C_SignInit");
  m.step("C_Sign");
  CK_BYTE data[] = {1, 2, 3}, signature[64];
  CK_ULONG length = sizeof signature;
  check(m->C_Sign(session, data, sizeof data, signature, &length), CKR_DEVICE_REMOVED, "C_Sign");
  m.step("C_GetSessionInfo");
  CK_SESSION_INFO info;
  check(m->C_GetSessionInfo(session, &info), CKR_DEVICE_REMOVED, "C_GetSessionInfo");
  outside(Outside::insert_token);
  const CK_SESSION_HANDLE again = m.logged_in();
  if (m.sign(again, CKM_ECDSA_SHA256, 1).empty()) throw ScenarioFailed("an empty signature");
  m.logout_and_close(again);
}

// Remote unlock through the card library (docs/unlock.md): the holder locks the PIN, the help
// desk answers the challenge, the token takes a new PIN.
void unlock(card::Transcript& links, const std::function<void(Outside)>&) {
  static const Bytes kManagementKey = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                       5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
  static const Bytes kMasterKey(32, 0x5A);
  card::Connection connection(links.connect(kReader));
  card::Connection::Transaction transaction(connection);
  card::TokenClient client(connection);
  links.mark("TOKEN INFO");
  const std::uint32_t serial = client.token_info().serial;
  links.mark("SET UNLOCK KEY");
  client.authenticate_management(kManagementKey, protocol::Algorithm::tdes);
  const Bytes unlock_key = card::unlock::derive_unlock_key(kMasterKey, serial);
  client.set_unlock_key(unlock_key, 3);
  links.mark("VERIFY until blocked");
  for (int i = 0; i < 3; ++i) client.verify_pin(kWrongPin);
  if (!client.verify_pin("").is(protocol::Sw::authentication_blocked))
    throw ScenarioFailed("the PIN is not blocked");
  links.mark("UNLOCK CHALLENGE");
  const card::unlock::Code challenge = client.unlock_challenge();
  links.mark("UNLOCK RESPONSE");
  const card::unlock::Code response = card::unlock::compute_response(unlock_key, serial, challenge);
  if (!client.unlock_with_response(response, kPin).ok())
    throw ScenarioFailed("the unlock was refused");
  if (!client.verify_pin(kPin).ok()) throw ScenarioFailed("the new PIN does not verify");
}

// TOKEN INFO answered with only its first bytes and 9000: the card library says the answer is
// malformed, and nothing reads past its end.
void short_response(card::Transcript& links, const std::function<void(Outside)>&) {
  card::Connection connection(links.connect(kReader));
  card::Connection::Transaction transaction(connection);
  card::TokenClient client(connection);
  links.mark("TOKEN INFO");
  try {
    client.token_info();
  } catch (const card::Error& e) {
    if (e.kind() == card::Error::Kind::bad_response) return;
    throw;
  }
  throw ScenarioFailed("a short TOKEN INFO was taken");
}

// Cuts the response after the "= TOKEN INFO" mark to its first 4 bytes, status 9000 kept.
std::string cut_token_info(const std::string& recorded) {
  const std::size_t mark = recorded.find("= TOKEN INFO\n");
  const std::size_t answer = recorded.find("\n< ", mark);
  const std::size_t end = recorded.find('\n', answer + 1);
  if (mark == std::string::npos || answer == std::string::npos)
    throw ScenarioFailed("no TOKEN INFO recorded");
  return "# Edited after recording: TOKEN INFO's answer cut to its first 4 bytes, status 9000 "
         "kept.\n" +
         recorded.substr(0, answer + 3) + recorded.substr(answer + 3, 8) + "9000" +
         recorded.substr(end);
}

}  // namespace

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all = {
      {"login", "C_Login with a wrong PIN, then the right one, then C_Logout", login, nullptr},
      {"generate_ec_key", "C_GenerateKeyPair: EC P-256 in 9A (CKA_ID 01)",
       [](card::Transcript& t, const auto&) { generate(t, CKK_EC, 1); }, nullptr},
      {"generate_rsa_key", "C_GenerateKeyPair: RSA 2048 in 9D (CKA_ID 03)",
       [](card::Transcript& t, const auto&) { generate(t, CKK_RSA, 3); }, nullptr},
      {"sign_ecdsa", "CKM_ECDSA_SHA256 with the key in 9A",
       [](card::Transcript& t, const auto&) { sign(t, CKM_ECDSA_SHA256, 1); }, nullptr},
      {"sign_rsa", "CKM_SHA256_RSA_PKCS with the key in 9D",
       [](card::Transcript& t, const auto&) { sign(t, CKM_SHA256_RSA_PKCS, 3); }, nullptr},
      {"write_certificate", "C_CreateObject: a certificate for the key in 9A", write_certificate,
       nullptr},
      {"read_certificate", "C_GetAttributeValue(CKA_VALUE) of the certificate in 9A",
       read_certificate, nullptr},
      {"cold_start",
       "two processes list an unchanged token; the second uses the first's object cache",
       cold_start, nullptr},
      {"card_reset", "another process resets the card between C_Login and C_Sign", card_reset,
       nullptr},
      {"removed_token", "the token is pulled mid-session and put back", removed_token, nullptr},
      {"unlock", "remote unlock through the card library", unlock, nullptr},
      {"short_response", "a TOKEN INFO answer cut short", short_response, cut_token_info},
      {"sim_certificate",
       "on a SIM (T=0, logical channel): key generation, certificate write and read",
       sim_certificate, nullptr, "sim"},
  };
  return all;
}

namespace {
unsigned char g_next_random = 0;
int fixed_bytes(unsigned char* out, int length) {
  for (int i = 0; i < length; ++i) out[i] = g_next_random++;
  return 1;
}
int always_ready() { return 1; }
const RAND_METHOD kFixedRandom = {nullptr, fixed_bytes, nullptr,
                                  nullptr, fixed_bytes, always_ready};
}  // namespace

void use_fixed_random() {
  g_next_random = 0;
  RAND_set_rand_method(&kFixedRandom);
}

}  // namespace certkey::transcripts
