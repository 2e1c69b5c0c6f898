#include "token_service.hpp"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <set>

#include "../api/error_code.hpp"
#include "csr.hpp"

namespace certkey::daemon {
namespace {

// PKCS#11 3.0's CK_INTERFACE, which p11-kit's 2.40 header lacks.
struct Interface {
  CK_UTF8CHAR_PTR name;
  void* functions;
  CK_FLAGS flags;
};
using GetInterface = CK_RV (*)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, Interface**, CK_FLAGS);

constexpr CK_BYTE kP256Oid[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
// The PIV retired key slots (82-95) as the module names them in CKA_ID: renewals put the new
// key there, so the key being renewed stays usable until its successor is certified.
constexpr CK_BYTE kFirstRetiredId = 0x05;
constexpr CK_BYTE kLastRetiredId = 0x18;

// A failed PKCS#11 call, as the API error the caller should see.
[[noreturn]] void fail(CK_RV rv, const std::string& what) {
  switch (rv) {
    case CKR_FUNCTION_CANCELED: throw ApiError(ErrorCode::pin_cancelled);
    case CKR_PIN_INCORRECT:
    case CKR_PIN_LEN_RANGE: throw ApiError(ErrorCode::pin_incorrect);
    case CKR_PIN_LOCKED: throw ApiError(ErrorCode::pin_locked);
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SLOT_ID_INVALID:  // a USB KEY or SD KEY reader that went away with its token
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED: throw ApiError(ErrorCode::token_removed, what);
    default: {
      char code[32];
      std::snprintf(code, sizeof code, " failed with CKR 0x%lX", rv);
      throw ApiError(ErrorCode::token_error, what + code);
    }
  }
}

void check(CK_RV rv, const std::string& what) {
  if (rv != CKR_OK) fail(rv, what);
}

std::string trimmed(const CK_UTF8CHAR* text, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(text), size);
  return s.substr(0, s.find_last_not_of(' ') + 1);
}

std::string hex(const Bytes& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

Bytes key_id_from_hex(const std::string& text) {
  if (text.size() != 2 || text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    throw ApiError(ErrorCode::bad_request, "a key or certificate id is two hex digits");
  }
  return {static_cast<std::uint8_t>(std::stoul(text, nullptr, 16))};
}

std::string medium_name(CK_ULONG medium) {
  switch (medium) {
    case CERTKEY_MEDIUM_SIM: return "sim";
    case CERTKEY_MEDIUM_USB_KEY: return "usbkey";
    case CERTKEY_MEDIUM_SD_KEY: return "sdkey";
    default: return "smartcard";
  }
}

std::string iso_time(const ASN1_TIME* time) {
  std::tm tm{};
  if (!time || ASN1_TIME_to_tm(time, &tm) != 1) return {};
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

std::string name_text(const X509_NAME* name) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
X509Ptr parse_certificate(const Bytes& der) {
  const unsigned char* p = der.data();
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
}

}  // namespace

// One PKCS#11 session, closed (and logged out) when it goes away.
class TokenService::Session {
 public:
  Session(CK_FUNCTION_LIST_PTR p11, CK_SLOT_ID slot, bool read_write) : p11_(p11) {
    check(p11_->C_OpenSession(slot, CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0), nullptr, nullptr,
                              &handle_),
          "C_OpenSession");
  }
  ~Session() {
    if (logged_in_) p11_->C_Logout(handle_);
    p11_->C_CloseSession(handle_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // With a NULL PIN the module asks its trusted prompt (pinentry): no PIN crosses the API.
  void login() {
    const CK_RV rv = p11_->C_Login(handle_, CKU_USER, nullptr, 0);
    if (rv == CKR_ARGUMENTS_BAD) throw ApiError(ErrorCode::pin_prompt_unavailable);
    if (rv != CKR_USER_ALREADY_LOGGED_IN) check(rv, "C_Login");
    logged_in_ = true;
  }

  std::vector<CK_OBJECT_HANDLE> find(CK_OBJECT_CLASS object_class, const Bytes* id = nullptr) {
    CK_ATTRIBUTE query[] = {{CKA_CLASS, &object_class, sizeof object_class},
                            {CKA_ID, const_cast<std::uint8_t*>(id ? id->data() : nullptr), id ? id->size() : 0}};
    check(p11_->C_FindObjectsInit(handle_, query, id ? 2 : 1), "C_FindObjectsInit");
    std::vector<CK_OBJECT_HANDLE> found;
    CK_OBJECT_HANDLE batch[32];
    CK_ULONG count = 0;
    CK_RV rv;
    while ((rv = p11_->C_FindObjects(handle_, batch, 32, &count)) == CKR_OK && count > 0) {
      found.insert(found.end(), batch, batch + count);
    }
    p11_->C_FindObjectsFinal(handle_);
    check(rv, "C_FindObjects");
    return found;
  }

  Bytes attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a = {type, nullptr, 0};
    check(p11_->C_GetAttributeValue(handle_, object, &a, 1), "C_GetAttributeValue");
    Bytes value(a.ulValueLen);
    a.pValue = value.data();
    check(p11_->C_GetAttributeValue(handle_, object, &a, 1), "C_GetAttributeValue");
    value.resize(a.ulValueLen);
    return value;
  }

  // The P-256 public key of a token's public key object; null when it is not one. CKA_EC_POINT
  // is the DER OCTET STRING (04 41) around the uncompressed point.
  PkeyPtr p256_key(CK_OBJECT_HANDLE public_key) {
    const Bytes point_der = attribute(public_key, CKA_EC_POINT);
    if (point_der.size() != 67 || point_der[0] != 0x04 || point_der[1] != 65) return PkeyPtr(nullptr, EVP_PKEY_free);
    return PkeyPtr(p256_public_key(Bytes(point_der.begin() + 2, point_der.end())), EVP_PKEY_free);
  }

  CK_SESSION_HANDLE handle() const { return handle_; }
  void destroy(CK_OBJECT_HANDLE object) { p11_->C_DestroyObject(handle_, object); }

 private:
  CK_FUNCTION_LIST_PTR p11_;
  CK_SESSION_HANDLE handle_ = 0;
  bool logged_in_ = false;
};

TokenService::TokenService(const std::string& module_path) {
  library_ = ::dlopen(module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library_) throw ApiError(ErrorCode::internal_error, "cannot load the PKCS#11 module " + module_path);
  auto get_list = reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(::dlsym(library_, "C_GetFunctionList"));
  auto get_interface = reinterpret_cast<GetInterface>(::dlsym(library_, "C_GetInterface"));
  Interface* vendor = nullptr;
  if (!get_list || get_list(&p11_) != CKR_OK || !get_interface ||
      get_interface(reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(CERTKEY_VENDOR_INTERFACE_NAME)), nullptr,
                    &vendor, 0) != CKR_OK) {
    throw ApiError(ErrorCode::internal_error, module_path + " is not the certkey PKCS#11 module");
  }
  vendor_ = static_cast<CK_CERTKEY_FUNCTION_LIST*>(vendor->functions);
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  if (p11_->C_Initialize(&args) != CKR_OK) throw ApiError(ErrorCode::internal_error, "C_Initialize failed");
}

TokenService::~TokenService() {
  if (p11_) p11_->C_Finalize(nullptr);
  if (library_) ::dlclose(library_);
}

std::vector<CK_SLOT_ID> TokenService::slots_with_tokens() {
  // A token inserted between the two calls makes the list longer: ask again.
  for (;;) {
    CK_ULONG count = 0;
    check(p11_->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList");
    std::vector<CK_SLOT_ID> slots(count);
    const CK_RV rv = p11_->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv == CKR_BUFFER_TOO_SMALL) continue;
    check(rv, "C_GetSlotList");
    slots.resize(count);
    return slots;
  }
}

std::vector<TokenSummary> TokenService::list_tokens() {
  std::vector<TokenSummary> tokens;
  for (CK_SLOT_ID slot : slots_with_tokens()) {
    // A token pulled while it is being listed is simply not listed.
    try {
      CK_TOKEN_INFO info{};
      CK_SLOT_INFO slot_info{};
      CK_CERTKEY_TOKEN_INFO certkey{};
      if (p11_->C_GetTokenInfo(slot, &info) != CKR_OK || p11_->C_GetSlotInfo(slot, &slot_info) != CKR_OK ||
          vendor_->C_CertkeyGetTokenInfo(slot, &certkey) != CKR_OK) {
        continue;
      }
      TokenSummary token;
      token.serial = static_cast<std::uint32_t>(certkey.serial);
      token.medium = medium_name(certkey.medium);
      token.label = trimmed(info.label, sizeof info.label);
      token.reader = trimmed(slot_info.slotDescription, sizeof slot_info.slotDescription);
      token.pin_state = info.flags & CKF_USER_PIN_LOCKED       ? "locked"
                        : info.flags & CKF_USER_PIN_FINAL_TRY  ? "final_try"
                        : info.flags & CKF_USER_PIN_COUNT_LOW  ? "count_low"
                                                               : "ok";
      Session session(p11_, slot, false);
      for (CK_OBJECT_HANDLE object : session.find(CKO_CERTIFICATE)) {
        const Bytes der = session.attribute(object, CKA_VALUE);
        X509Ptr certificate = parse_certificate(der);
        if (!certificate) continue;
        const Bytes label = session.attribute(object, CKA_LABEL);
        token.certificates.push_back({hex(session.attribute(object, CKA_ID)), std::string(label.begin(), label.end()),
                                      name_text(X509_get_subject_name(certificate.get())),
                                      name_text(X509_get_issuer_name(certificate.get())),
                                      iso_time(X509_get0_notBefore(certificate.get())),
                                      iso_time(X509_get0_notAfter(certificate.get()))});
      }
      tokens.push_back(std::move(token));
    } catch (const ApiError& e) {
      if (e.code() != ErrorCode::token_removed) throw;
    }
  }
  return tokens;
}

CK_SLOT_ID TokenService::find_slot(std::uint32_t serial) {
  for (CK_SLOT_ID slot : slots_with_tokens()) {
    CK_CERTKEY_TOKEN_INFO info{};
    if (vendor_->C_CertkeyGetTokenInfo(slot, &info) == CKR_OK && info.serial == serial) return slot;
  }
  throw ApiError(ErrorCode::token_not_found);
}

RenewalKey TokenService::begin_renewal(std::uint32_t serial, const std::string& certificate_id,
                                       const std::vector<std::string>& reserved,
                                       const std::function<void(const std::string& key_id)>& reserve) {
  const Bytes old_id = key_id_from_hex(certificate_id);
  Session session(p11_, find_slot(serial), true);
  const std::vector<CK_OBJECT_HANDLE> certificates = session.find(CKO_CERTIFICATE, &old_id);
  if (certificates.empty()) throw ApiError(ErrorCode::certificate_not_found);
  const Bytes subject = session.attribute(certificates.front(), CKA_SUBJECT);

  // Logged in first: the module shows private keys only then. A slot is free when it holds
  // no key and no certificate and no renewal in progress has claimed it.
  session.login();
  std::set<std::string> used(reserved.begin(), reserved.end());
  for (CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE}) {
    for (CK_OBJECT_HANDLE object : session.find(object_class)) used.insert(hex(session.attribute(object, CKA_ID)));
  }
  Bytes new_id;
  for (CK_BYTE id = kFirstRetiredId; id <= kLastRetiredId && new_id.empty(); ++id) {
    if (!used.count(hex({id}))) new_id = {id};
  }
  if (new_id.empty()) throw ApiError(ErrorCode::no_free_key_slot);
  reserve(hex(new_id));

  CK_MECHANISM generation = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE public_template[] = {{CKA_EC_PARAMS, const_cast<CK_BYTE*>(kP256Oid), sizeof kP256Oid},
                                    {CKA_ID, new_id.data(), new_id.size()},
                                    {CKA_TOKEN, &yes, sizeof yes}};
  CK_ATTRIBUTE private_template[] = {{CKA_ID, new_id.data(), new_id.size()},
                                     {CKA_SIGN, &yes, sizeof yes},
                                     {CKA_TOKEN, &yes, sizeof yes}};
  CK_OBJECT_HANDLE public_key = 0, private_key = 0;
  check(p11_->C_GenerateKeyPair(session.handle(), &generation, public_template, 3, private_template, 3, &public_key,
                                &private_key),
        "C_GenerateKeyPair");
  try {
    const PkeyPtr key = session.p256_key(public_key);
    if (!key) throw ApiError(ErrorCode::token_error, "the new public key is not a P-256 point");
    const std::string csr = make_csr_pem(key.get(), subject, [&](const Bytes& digest) {
      CK_MECHANISM ecdsa = {CKM_ECDSA, nullptr, 0};
      check(p11_->C_SignInit(session.handle(), &ecdsa, private_key), "C_SignInit");
      Bytes signature(64);
      CK_ULONG length = signature.size();
      check(p11_->C_Sign(session.handle(), const_cast<std::uint8_t*>(digest.data()), digest.size(), signature.data(),
                         &length),
            "C_Sign");
      signature.resize(length);
      return signature;
    });
    return {hex(new_id), csr};
  } catch (...) {
    // No request, no key: the slot is free again.
    session.destroy(private_key);
    session.destroy(public_key);
    throw;
  }
}

void TokenService::complete_renewal(std::uint32_t serial, const std::string& key_id, const Bytes& certificate_der) {
  const Bytes id = key_id_from_hex(key_id);
  X509Ptr certificate = parse_certificate(certificate_der);
  if (!certificate) throw ApiError(ErrorCode::bad_request, "the certificate is not DER or PEM X.509");
  Session session(p11_, find_slot(serial), true);
  const std::vector<CK_OBJECT_HANDLE> public_keys = session.find(CKO_PUBLIC_KEY, &id);
  if (public_keys.empty()) throw ApiError(ErrorCode::renewal_not_found, "the renewal's key is not on the token");
  const PkeyPtr key = session.p256_key(public_keys.front());
  if (!key || EVP_PKEY_eq(key.get(), X509_get0_pubkey(certificate.get())) != 1) {
    throw ApiError(ErrorCode::certificate_mismatch);
  }
  session.login();
  Bytes subject(static_cast<std::size_t>(i2d_X509_NAME(X509_get_subject_name(certificate.get()), nullptr)));
  unsigned char* p = subject.data();
  i2d_X509_NAME(X509_get_subject_name(certificate.get()), &p);
  CK_OBJECT_CLASS certificate_class = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE x509 = CKC_X_509;
  CK_BBOOL yes = CK_TRUE;
  CK_ATTRIBUTE object[] = {{CKA_CLASS, &certificate_class, sizeof certificate_class},
                           {CKA_CERTIFICATE_TYPE, &x509, sizeof x509},
                           {CKA_TOKEN, &yes, sizeof yes},
                           {CKA_ID, const_cast<std::uint8_t*>(id.data()), id.size()},
                           {CKA_SUBJECT, subject.data(), subject.size()},
                           {CKA_VALUE, const_cast<std::uint8_t*>(certificate_der.data()), certificate_der.size()}};
  CK_OBJECT_HANDLE created = 0;
  check(p11_->C_CreateObject(session.handle(), object, 6, &created), "C_CreateObject");
  // Written is not done: the certificate must read back as sent.
  const std::vector<CK_OBJECT_HANDLE> stored = session.find(CKO_CERTIFICATE, &id);
  if (stored.empty() || session.attribute(stored.front(), CKA_VALUE) != certificate_der) {
    throw ApiError(ErrorCode::token_error, "the certificate did not read back as written");
  }
}

}  // namespace certkey::daemon
