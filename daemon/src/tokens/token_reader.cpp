#include "token_reader.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

#include "../core/hex.hpp"
#include "../core/x509_text.hpp"

namespace certkey::daemon {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::string medium_name(CK_ULONG medium) {
  switch (medium) {
    case CERTKEY_MEDIUM_SIM: return "sim";
    case CERTKEY_MEDIUM_USB_KEY: return "usbkey";
    case CERTKEY_MEDIUM_SD_KEY: return "sdkey";
    default: return "smartcard";
  }
}

std::string serial_text(const X509* certificate) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr), BN_free);
  if (!bn) return {};
  char* text = BN_bn2hex(bn.get());
  std::string out = text ? text : "";
  OPENSSL_free(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void apply_token_info(const CK_CERTKEY_TOKEN_INFO& info, TokenState& state) {
  state.serial = static_cast<std::uint32_t>(info.serial);
  state.medium = medium_name(info.medium);
  state.change_counter = static_cast<std::uint32_t>(info.change_counter);
  state.pin = {static_cast<int>(info.pin_retry_limit), static_cast<int>(info.pin_retries),
               info.pin_is_default == CK_TRUE};
  state.puk = {static_cast<int>(info.puk_retry_limit), static_cast<int>(info.puk_retries),
               info.puk_is_default == CK_TRUE};
}

std::vector<CertificateInfo> read_certificates(const pkcs11::Module& module, CK_SLOT_ID slot) {
  std::vector<CertificateInfo> certificates;
  pkcs11::Session session(module, slot, false);
  for (CK_OBJECT_HANDLE object : session.find(CKO_CERTIFICATE)) {
    const pkcs11::Bytes der = session.attribute(object, CKA_VALUE);
    const unsigned char* p = der.data();
    X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
    if (!certificate) continue;  // not X.509: nothing the API can show
    const pkcs11::Bytes label = session.attribute(object, CKA_LABEL);
    certificates.push_back(
        {hex(session.attribute(object, CKA_ID)), std::string(label.begin(), label.end()),
         name_text(X509_get_subject_name(certificate.get())),
         name_text(X509_get_issuer_name(certificate.get())), serial_text(certificate.get()),
         iso_time(X509_get0_notBefore(certificate.get())),
         iso_time(X509_get0_notAfter(certificate.get())), der});
  }
  return certificates;
}

}  // namespace

const char* pin_state_name(const PinStatus& pin) {
  if (pin.tries_left == 0) return "locked";
  if (pin.tries_left == 1) return "final_try";
  if (pin.tries_left < pin.limit) return "count_low";
  return "ok";
}

std::optional<TokenState> read_token(const pkcs11::Module& module, CK_SLOT_ID slot) {
  const CK_SLOT_INFO slot_info = module.slot_info(slot);
  if (!(slot_info.flags & CKF_TOKEN_PRESENT)) return std::nullopt;
  TokenState state;
  state.slot = slot;
  state.reader = pkcs11::field_text(slot_info.slotDescription, sizeof slot_info.slotDescription);
  apply_token_info(module.certkey_token_info(slot), state);
  const CK_TOKEN_INFO token_info = module.token_info(slot);
  state.label = pkcs11::field_text(token_info.label, sizeof token_info.label);
  state.certificates = read_certificates(module, slot);
  return state;
}

bool revalidate_token(const pkcs11::Module& module, TokenState& state) {
  const CK_CERTKEY_TOKEN_INFO info = module.certkey_token_info(state.slot);
  if (info.serial != state.serial || info.change_counter != state.change_counter) {
    std::optional<TokenState> fresh = read_token(module, state.slot);
    if (!fresh) throw pkcs11::Error(CKR_TOKEN_NOT_PRESENT, "C_GetSlotInfo");
    const bool changed = !(*fresh == state);
    state = std::move(*fresh);
    return changed;
  }
  const TokenState before = state;
  apply_token_info(info, state);
  return !(before == state);
}

}  // namespace certkey::daemon
