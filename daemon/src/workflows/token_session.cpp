#include "token_session.hpp"

#include <openssl/x509.h>

#include "../core/error_code.hpp"

namespace certkey::daemon {

using pkcs11::Bytes;

Bytes slot_id(const std::string& text) {
  if (text.size() != 2 || text.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw ApiError(ErrorCode::bad_request, "a key or certificate id is two lower-case hex digits");
  }
  return {static_cast<std::uint8_t>(std::stoul(text, nullptr, 16))};
}

void TokenSession::log_in(const OperationText& why) {
  if (pin_) return;
  pinentry::Secret pin = work_.pin(why);
  session_.login(pin.view());
  pin_ = std::move(pin);
}

std::optional<Bytes> TokenSession::certificate(const Bytes& id) {
  const std::vector<CK_OBJECT_HANDLE> found = session_.find(CKO_CERTIFICATE, &id);
  if (found.empty()) return std::nullopt;
  return session_.attribute(found.front(), CKA_VALUE);
}

void TokenSession::write_certificate(const Bytes& id, const Bytes& der) {
  const unsigned char* p = der.data();
  std::unique_ptr<X509, decltype(&X509_free)> parsed(
      d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
  if (!parsed) throw ApiError(ErrorCode::bad_request, "the certificate is not X.509");
  Bytes subject(
      static_cast<std::size_t>(i2d_X509_NAME(X509_get_subject_name(parsed.get()), nullptr)));
  unsigned char* out = subject.data();
  i2d_X509_NAME(X509_get_subject_name(parsed.get()), &out);
  CK_OBJECT_CLASS certificate_class = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE x509 = CKC_X_509;
  CK_BBOOL yes = CK_TRUE;
  session_.create({{CKA_CLASS, &certificate_class, sizeof certificate_class},
                   {CKA_CERTIFICATE_TYPE, &x509, sizeof x509},
                   {CKA_TOKEN, &yes, sizeof yes},
                   {CKA_ID, const_cast<std::uint8_t*>(id.data()), id.size()},
                   {CKA_SUBJECT, subject.data(), subject.size()},
                   {CKA_VALUE, const_cast<std::uint8_t*>(der.data()), der.size()}});
  // Written is not done: the certificate must read back as sent.
  if (certificate(id) != der)
    throw ApiError(ErrorCode::token_error, "the certificate did not read back as written");
}

void TokenSession::clear_slot(const Bytes& id, const OperationText& why) {
  if (session_.find(CKO_CERTIFICATE, &id).empty() && session_.find(CKO_PUBLIC_KEY, &id).empty())
    return;
  log_in(why);
  for (CK_OBJECT_HANDLE c : session_.find(CKO_CERTIFICATE, &id)) session_.destroy(c);
  // The private key takes its public key with it (docs/pkcs11.md section 11.3).
  for (CK_OBJECT_HANDLE k : session_.find(CKO_PRIVATE_KEY, &id)) session_.destroy(k);
}

}  // namespace certkey::daemon
