#include "pkcs11_client.hpp"

#include <dlfcn.h>
#include <openssl/crypto.h>

#include <cstdio>

namespace certkey::pkcs11 {
namespace {

// PKCS#11 3.0's CK_INTERFACE, which p11-kit's 2.40 header lacks.
struct Interface {
  CK_UTF8CHAR_PTR name;
  void* functions;
  CK_FLAGS flags;
};
using GetInterface = CK_RV (*)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, Interface**, CK_FLAGS);

std::string rv_text(CK_RV rv) {
  char text[32];
  std::snprintf(text, sizeof text, "CKR 0x%lX", rv);
  return text;
}

void check(CK_RV rv, const char* call) {
  if (rv != CKR_OK) throw Error(rv, call);
}

}  // namespace

Error::Error(CK_RV rv, const std::string& what)
    : std::runtime_error(what + " failed with " + rv_text(rv)), rv_(rv) {}

std::string field_text(const CK_UTF8CHAR* field, std::size_t width) {
  std::string s(reinterpret_cast<const char*>(field), width);
  return s.substr(0, s.find_last_not_of(' ') + 1);
}

Module::Module(const std::string& path) {
  library_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library_) throw Error(CKR_GENERAL_ERROR, "loading the PKCS#11 module " + path);
  auto get_list =
      reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(::dlsym(library_, "C_GetFunctionList"));
  if (!get_list || get_list(&api_) != CKR_OK || !api_) {
    ::dlclose(library_);
    throw Error(CKR_GENERAL_ERROR, path + " is not a PKCS#11 module: C_GetFunctionList");
  }
  if (auto get_interface = reinterpret_cast<GetInterface>(::dlsym(library_, "C_GetInterface"))) {
    Interface* vendor = nullptr;
    CK_VERSION wanted{CERTKEY_VENDOR_VERSION_MAJOR, CERTKEY_VENDOR_VERSION_MINOR};
    if (get_interface(
            reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(CERTKEY_VENDOR_INTERFACE_NAME)),
            &wanted, &vendor, 0) == CKR_OK &&
        vendor) {
      vendor_ = static_cast<const CK_CERTKEY_FUNCTION_LIST*>(vendor->functions);
    }
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  const CK_RV rv = api_->C_Initialize(&args);
  if (rv != CKR_OK) {
    ::dlclose(library_);
    throw Error(rv, "C_Initialize");
  }
  initialized_ = true;
}

Module::~Module() {
  finalize();
  if (library_) ::dlclose(library_);
}

void Module::finalize() {
  if (initialized_) api_->C_Finalize(nullptr);
  initialized_ = false;
}

std::vector<CK_SLOT_ID> Module::slots(bool with_token) const {
  // A reader added between the two calls makes the list longer: ask again.
  for (;;) {
    CK_ULONG count = 0;
    check(api_->C_GetSlotList(with_token ? CK_TRUE : CK_FALSE, nullptr, &count), "C_GetSlotList");
    std::vector<CK_SLOT_ID> slots(count);
    const CK_RV rv = api_->C_GetSlotList(with_token ? CK_TRUE : CK_FALSE, slots.data(), &count);
    if (rv == CKR_BUFFER_TOO_SMALL) continue;
    check(rv, "C_GetSlotList");
    slots.resize(count);
    return slots;
  }
}

CK_SLOT_INFO Module::slot_info(CK_SLOT_ID slot) const {
  CK_SLOT_INFO info{};
  check(api_->C_GetSlotInfo(slot, &info), "C_GetSlotInfo");
  return info;
}

CK_TOKEN_INFO Module::token_info(CK_SLOT_ID slot) const {
  CK_TOKEN_INFO info{};
  check(api_->C_GetTokenInfo(slot, &info), "C_GetTokenInfo");
  return info;
}

CK_CERTKEY_TOKEN_INFO Module::certkey_token_info(CK_SLOT_ID slot) const {
  if (!vendor_) throw Error(CKR_FUNCTION_NOT_SUPPORTED, "C_CertkeyGetTokenInfo");
  CK_CERTKEY_TOKEN_INFO info{};
  check(vendor_->C_CertkeyGetTokenInfo(slot, &info), "C_CertkeyGetTokenInfo");
  return info;
}

Bytes Module::unlock_challenge(CK_SLOT_ID slot) const {
  if (!vendor_) throw Error(CKR_FUNCTION_NOT_SUPPORTED, "C_CertkeyUnlockChallenge");
  Bytes challenge(CERTKEY_UNLOCK_CODE_LENGTH);
  check(vendor_->C_CertkeyUnlockChallenge(slot, challenge.data()), "C_CertkeyUnlockChallenge");
  return challenge;
}

void Module::unlock_response(CK_SLOT_ID slot, const Bytes& response,
                             std::string_view new_pin) const {
  if (!vendor_) throw Error(CKR_FUNCTION_NOT_SUPPORTED, "C_CertkeyUnlockResponse");
  if (response.size() != CERTKEY_UNLOCK_CODE_LENGTH)
    throw Error(CKR_ARGUMENTS_BAD, "C_CertkeyUnlockResponse");
  check(vendor_->C_CertkeyUnlockResponse(
            slot, response.data(),
            reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(new_pin.data())),
            static_cast<CK_ULONG>(new_pin.size())),
        "C_CertkeyUnlockResponse");
}

std::optional<CK_SLOT_ID> Module::wait_for_slot_event() const {
  CK_SLOT_ID slot = 0;
  const CK_RV rv = api_->C_WaitForSlotEvent(0, &slot, nullptr);
  if (rv == CKR_CRYPTOKI_NOT_INITIALIZED) return std::nullopt;
  check(rv, "C_WaitForSlotEvent");
  return slot;
}

std::optional<CK_SLOT_ID> Module::poll_slot_event() const {
  CK_SLOT_ID slot = 0;
  const CK_RV rv = api_->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr);
  if (rv == CKR_NO_EVENT) return std::nullopt;
  check(rv, "C_WaitForSlotEvent");
  return slot;
}

std::optional<CK_SLOT_ID> slot_with_token_label(const Module& module, std::string_view label) {
  for (const CK_SLOT_ID slot : module.slots(true)) {
    const CK_TOKEN_INFO info = module.token_info(slot);
    if (field_text(info.label, sizeof info.label) == label) return slot;
  }
  return std::nullopt;
}

Session::Session(const Module& module, CK_SLOT_ID slot, bool read_write)
    : api_(module.api()), vendor_(module.vendor()), slot_(slot) {
  check(api_->C_OpenSession(slot, CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0), nullptr,
                            nullptr, &handle_),
        "C_OpenSession");
}

Session::~Session() {
  if (logged_in_) api_->C_Logout(handle_);
  api_->C_CloseSession(handle_);
}

void Session::login(std::string_view pin) {
  // The module copies the PIN; this call keeps no copy of its own.
  const CK_RV rv = api_->C_Login(handle_, CKU_USER,
                                 reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())),
                                 static_cast<CK_ULONG>(pin.size()));
  if (rv != CKR_USER_ALREADY_LOGGED_IN) check(rv, "C_Login");
  logged_in_ = true;
  listing_.reset();  // private objects show now
}

namespace {
CK_UTF8CHAR_PTR utf8(std::string_view text) {
  return reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(text.data()));
}
}  // namespace

void Session::login_so(std::string_view puk) {
  check(api_->C_Login(handle_, CKU_SO, utf8(puk), static_cast<CK_ULONG>(puk.size())), "C_Login");
  logged_in_ = true;
  listing_.reset();
}

void Session::init_pin(std::string_view new_pin) {
  check(api_->C_InitPIN(handle_, utf8(new_pin), static_cast<CK_ULONG>(new_pin.size())),
        "C_InitPIN");
}

void Session::set_pin(std::string_view old_pin, std::string_view new_pin) {
  check(api_->C_SetPIN(handle_, utf8(old_pin), static_cast<CK_ULONG>(old_pin.size()), utf8(new_pin),
                       static_cast<CK_ULONG>(new_pin.size())),
        "C_SetPIN");
}

std::vector<CK_OBJECT_HANDLE> Session::find(CK_OBJECT_CLASS object_class, const Bytes* id) {
  std::vector<CK_OBJECT_HANDLE> found;
  for (const Listed& object : listing()) {
    if (object.object_class == object_class && (!id || object.id == *id))
      found.push_back(object.handle);
  }
  return found;
}

const std::vector<Session::Listed>& Session::listing() {
  if (listing_) return *listing_;
  std::vector<Listed> objects;
  for (CK_OBJECT_HANDLE handle : find_matching(nullptr, 0)) {
    Listed object{handle, 0, {}};
    CK_ATTRIBUTE about[] = {{CKA_CLASS, &object.object_class, sizeof object.object_class},
                            {CKA_ID, nullptr, 0}};
    // An object whose class or ID cannot be read is one no lookup can match.
    if (api_->C_GetAttributeValue(handle_, handle, about, 2) != CKR_OK ||
        about[1].ulValueLen == CK_UNAVAILABLE_INFORMATION)
      continue;
    object.id.resize(about[1].ulValueLen);
    about[1].pValue = object.id.data();
    if (api_->C_GetAttributeValue(handle_, handle, about, 2) != CKR_OK) continue;
    object.id.resize(about[1].ulValueLen);
    objects.push_back(std::move(object));
  }
  listing_ = std::move(objects);
  return *listing_;
}

std::vector<CK_OBJECT_HANDLE> Session::find_labelled(CK_OBJECT_CLASS object_class,
                                                     std::string_view label) {
  CK_ATTRIBUTE query[] = {{CKA_CLASS, &object_class, sizeof object_class},
                          {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
  return find_matching(query, 2);
}

std::vector<CK_OBJECT_HANDLE> Session::find_matching(CK_ATTRIBUTE* query, CK_ULONG count) {
  check(api_->C_FindObjectsInit(handle_, query, count), "C_FindObjectsInit");
  std::vector<CK_OBJECT_HANDLE> found;
  CK_OBJECT_HANDLE batch[32];
  CK_ULONG got = 0;
  CK_RV rv;
  while ((rv = api_->C_FindObjects(handle_, batch, 32, &got)) == CKR_OK && got > 0) {
    found.insert(found.end(), batch, batch + got);
  }
  api_->C_FindObjectsFinal(handle_);
  check(rv, "C_FindObjects");
  return found;
}

Bytes Session::attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a = {type, nullptr, 0};
  check(api_->C_GetAttributeValue(handle_, object, &a, 1), "C_GetAttributeValue");
  if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
    throw Error(CKR_ATTRIBUTE_TYPE_INVALID, "C_GetAttributeValue");
  Bytes value(a.ulValueLen);
  a.pValue = value.data();
  check(api_->C_GetAttributeValue(handle_, object, &a, 1), "C_GetAttributeValue");
  value.resize(a.ulValueLen);
  return value;
}

Bytes Session::sign(CK_OBJECT_HANDLE key, CK_MECHANISM_TYPE mechanism_type, const Bytes& data,
                    std::optional<std::string_view> context_pin) {
  CK_MECHANISM mechanism = {mechanism_type, nullptr, 0};
  check(api_->C_SignInit(handle_, &mechanism, key), "C_SignInit");
  if (context_pin) {
    check(api_->C_Login(handle_, CKU_CONTEXT_SPECIFIC, utf8(*context_pin),
                        static_cast<CK_ULONG>(context_pin->size())),
          "C_Login");
  }
  CK_ULONG length = 0;
  auto* input = const_cast<std::uint8_t*>(data.data());
  check(api_->C_Sign(handle_, input, data.size(), nullptr, &length), "C_Sign");
  Bytes signature(length);
  check(api_->C_Sign(handle_, input, data.size(), signature.data(), &length), "C_Sign");
  signature.resize(length);
  return signature;
}

CK_OBJECT_HANDLE Session::create(std::vector<CK_ATTRIBUTE> attributes) {
  listing_.reset();
  CK_OBJECT_HANDLE object = 0;
  check(api_->C_CreateObject(handle_, attributes.data(), attributes.size(), &object),
        "C_CreateObject");
  return object;
}

Session::KeyPair Session::generate_key_pair(CK_MECHANISM_TYPE mechanism_type,
                                            std::vector<CK_ATTRIBUTE> public_template,
                                            std::vector<CK_ATTRIBUTE> private_template) {
  listing_.reset();
  CK_MECHANISM mechanism = {mechanism_type, nullptr, 0};
  KeyPair pair;
  check(api_->C_GenerateKeyPair(handle_, &mechanism, public_template.data(), public_template.size(),
                                private_template.data(), private_template.size(), &pair.public_key,
                                &pair.private_key),
        "C_GenerateKeyPair");
  return pair;
}

CK_OBJECT_HANDLE Session::generate_key(CK_MECHANISM_TYPE mechanism_type,
                                       std::vector<CK_ATTRIBUTE> key_template) {
  listing_.reset();
  CK_MECHANISM mechanism = {mechanism_type, nullptr, 0};
  CK_OBJECT_HANDLE key = 0;
  check(api_->C_GenerateKey(handle_, &mechanism, key_template.data(), key_template.size(), &key),
        "C_GenerateKey");
  return key;
}

CK_OBJECT_HANDLE Session::derive_key(CK_OBJECT_HANDLE base, CK_MECHANISM mechanism,
                                     std::vector<CK_ATTRIBUTE> key_template) {
  listing_.reset();
  CK_OBJECT_HANDLE key = 0;
  check(
      api_->C_DeriveKey(handle_, &mechanism, base, key_template.data(), key_template.size(), &key),
      "C_DeriveKey");
  return key;
}

void Session::destroy(CK_OBJECT_HANDLE object) {
  listing_.reset();
  check(api_->C_DestroyObject(handle_, object), "C_DestroyObject");
}

void Session::swap_slots(CK_BYTE a, CK_BYTE b) {
  if (!vendor_) throw Error(CKR_FUNCTION_NOT_SUPPORTED, "C_CertkeySwapSlots");
  listing_.reset();
  check(vendor_->C_CertkeySwapSlots(slot_, a, b), "C_CertkeySwapSlots");
}

}  // namespace certkey::pkcs11
