#include "helpdesk/unlock_responder.hpp"

#include <algorithm>
#include <iterator>
#include <optional>

namespace certkey::helpdesk {
namespace {

CK_OBJECT_CLASS kSecretKey = CKO_SECRET_KEY;
CK_KEY_TYPE kAes = CKK_AES;
CK_ULONG kAes256Length = 32;
CK_BBOOL kTrue = CK_TRUE, kFalse = CK_FALSE;

pkcs11::Session open_session(const pkcs11::Module& module, const HsmLocation& where) {
  const std::optional<CK_SLOT_ID> slot = pkcs11::slot_with_token_label(module, where.token_label);
  if (!slot)
    throw HsmError(HsmError::Kind::no_token, "no HSM token labelled '" + where.token_label + "'");
  return pkcs11::Session(module, *slot, true);
}

CK_ATTRIBUTE label_attribute(const std::string& label) {
  return {CKA_LABEL, const_cast<char*>(label.data()), label.size()};
}

}  // namespace

UnlockResponder::UnlockResponder(const HsmLocation& where, std::string_view pin)
    : module_(where.module), session_(open_session(module_, where)) {
  session_.login(pin);
  const std::vector<CK_OBJECT_HANDLE> keys =
      session_.find_labelled(CKO_SECRET_KEY, where.key_label);
  if (keys.empty()) {
    throw HsmError(HsmError::Kind::no_master_key,
                   "the HSM token has no key labelled '" + where.key_label +
                       "' (create it with certkey helpdesk provision)");
  }
  if (keys.size() > 1) {
    throw HsmError(HsmError::Kind::several_master_keys,
                   "the HSM token has several keys labelled '" + where.key_label + "'");
  }
  master_key_ = keys.front();
}

// CKM_AES_ECB_ENCRYPT_DATA: the derived key's value is AES-256-ECB(M, D), docs/unlock.md
// section 3, with D from the same reference code the token's tests use.
CK_OBJECT_HANDLE UnlockResponder::derive_unlock_key(std::uint32_t serial, bool extractable) {
  card::Bytes data = card::unlock::derivation_data(serial);
  CK_KEY_DERIVATION_STRING_DATA parameter = {data.data(), static_cast<CK_ULONG>(data.size())};
  CK_MECHANISM mechanism = {CKM_AES_ECB_ENCRYPT_DATA, &parameter, sizeof parameter};
  CK_BBOOL& sensitive = extractable ? kFalse : kTrue;
  CK_BBOOL& may_leave = extractable ? kTrue : kFalse;
  return session_.derive_key(master_key_, mechanism,
                             {{CKA_CLASS, &kSecretKey, sizeof kSecretKey},
                              {CKA_KEY_TYPE, &kAes, sizeof kAes},
                              {CKA_VALUE_LEN, &kAes256Length, sizeof kAes256Length},
                              {CKA_TOKEN, &kFalse, sizeof kFalse},
                              {CKA_SIGN, &kTrue, sizeof kTrue},
                              {CKA_SENSITIVE, &sensitive, sizeof sensitive},
                              {CKA_EXTRACTABLE, &may_leave, sizeof may_leave}});
}

card::unlock::Code UnlockResponder::respond(std::uint32_t serial,
                                            const card::unlock::Code& challenge) {
  const CK_OBJECT_HANDLE unlock_key = derive_unlock_key(serial, false);
  struct Destroy {
    pkcs11::Session& session;
    CK_OBJECT_HANDLE key;
    ~Destroy() {
      try {
        session.destroy(key);
      } catch (const pkcs11::Error&) {  // a session object goes with the session anyway
      }
    }
  } destroy{session_, unlock_key};
  card::Bytes message(4 + 4 + challenge.size());  // "CKUR" || serial (big-endian) || challenge
  const std::uint8_t head[8] = {'C',
                                'K',
                                'U',
                                'R',
                                static_cast<std::uint8_t>(serial >> 24),
                                static_cast<std::uint8_t>(serial >> 16),
                                static_cast<std::uint8_t>(serial >> 8),
                                static_cast<std::uint8_t>(serial)};
  std::copy(std::begin(head), std::end(head), message.begin());
  std::copy(challenge.begin(), challenge.end(), message.begin() + 8);
  // The first 10 bytes of the full CMAC: what CKM_AES_CMAC_GENERAL with length 10 gives, and
  // more HSMs offer plain CKM_AES_CMAC.
  const pkcs11::Bytes mac = session_.sign(unlock_key, CKM_AES_CMAC, message);
  card::unlock::Code response{};
  if (mac.size() < response.size())
    throw pkcs11::Error(CKR_GENERAL_ERROR, "C_Sign gave a short CMAC");
  std::copy_n(mac.begin(), response.size(), response.begin());
  return response;
}

card::Bytes UnlockResponder::issuance_key(std::uint32_t serial) {
  const CK_OBJECT_HANDLE unlock_key = derive_unlock_key(serial, true);
  card::Bytes value = session_.attribute(unlock_key, CKA_VALUE);
  session_.destroy(unlock_key);
  return value;
}

void provision_master_key(const HsmLocation& where, std::string_view pin) {
  pkcs11::Module module(where.module);
  pkcs11::Session session = open_session(module, where);
  session.login(pin);
  if (!session.find_labelled(CKO_SECRET_KEY, where.key_label).empty()) {
    throw HsmError(
        HsmError::Kind::master_key_exists,
        "the HSM token already has a key labelled '" + where.key_label + "'; it is kept as it is");
  }
  // Derivation is M's only use: no encryption, signing or wrapping, so nothing but K_u can
  // be computed with it.
  session.generate_key(CKM_AES_KEY_GEN, {{CKA_CLASS, &kSecretKey, sizeof kSecretKey},
                                         {CKA_KEY_TYPE, &kAes, sizeof kAes},
                                         {CKA_VALUE_LEN, &kAes256Length, sizeof kAes256Length},
                                         label_attribute(where.key_label),
                                         {CKA_TOKEN, &kTrue, sizeof kTrue},
                                         {CKA_PRIVATE, &kTrue, sizeof kTrue},
                                         {CKA_SENSITIVE, &kTrue, sizeof kTrue},
                                         {CKA_EXTRACTABLE, &kFalse, sizeof kFalse},
                                         {CKA_DERIVE, &kTrue, sizeof kTrue},
                                         {CKA_ENCRYPT, &kFalse, sizeof kFalse},
                                         {CKA_DECRYPT, &kFalse, sizeof kFalse},
                                         {CKA_SIGN, &kFalse, sizeof kFalse},
                                         {CKA_WRAP, &kFalse, sizeof kFalse}});
}

}  // namespace certkey::helpdesk
