#include "renewal.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <set>

#include "../core/error_code.hpp"
#include "../core/hex.hpp"
#include "csr.hpp"

namespace certkey::daemon {
namespace {

using pkcs11::Bytes;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

constexpr CK_BYTE kP256Oid[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
// The PIV retired key slots (82-95) as the module names them in CKA_ID: renewals put the new
// key there, so the key being renewed stays usable until its successor is certified.
constexpr CK_BYTE kFirstRetiredId = 0x05;
constexpr CK_BYTE kLastRetiredId = 0x18;

Bytes key_id_from_hex(const std::string& text) {
  if (text.size() != 2 || text.find_first_not_of("0123456789abcdef") != std::string::npos) {
    throw ApiError(ErrorCode::bad_request, "a key or certificate id is two lower-case hex digits");
  }
  return {static_cast<std::uint8_t>(std::stoul(text, nullptr, 16))};
}

// The P-256 public key of a token's public key object; null when it is not one. CKA_EC_POINT
// is the DER OCTET STRING (04 41) around the uncompressed point.
PkeyPtr p256_key(pkcs11::Session& session, CK_OBJECT_HANDLE public_key) {
  const Bytes point_der = session.attribute(public_key, CKA_EC_POINT);
  if (point_der.size() != 67 || point_der[0] != 0x04 || point_der[1] != 65) return PkeyPtr(nullptr, EVP_PKEY_free);
  return PkeyPtr(p256_public_key(Bytes(point_der.begin() + 2, point_der.end())), EVP_PKEY_free);
}

void log_in(TokenWork& work, pkcs11::Session& session, const OperationText& operation) {
  const pinentry::Secret pin = work.pin(operation);
  session.login(pin.view());
}

OperationText renewal_text(const TokenWork& work, const std::string& certificate_id) {
  for (const CertificateInfo& c : work.token.certificates) {
    if (c.id == certificate_id) {
      return {"renew the certificate \"" + c.subject + "\"", "更新证书「" + c.subject + "」"};
    }
  }
  return {"renew certificate " + certificate_id, "更新证书 " + certificate_id};
}

// A retired slot with no key, no certificate, and no other renewal in progress. Logged in
// first: the module shows private keys only then.
Bytes free_retired_slot(pkcs11::Session& session, const std::vector<std::string>& reserved) {
  std::set<std::string> used(reserved.begin(), reserved.end());
  for (CK_OBJECT_CLASS object_class : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_CERTIFICATE}) {
    for (CK_OBJECT_HANDLE object : session.find(object_class)) used.insert(hex(session.attribute(object, CKA_ID)));
  }
  for (CK_BYTE id = kFirstRetiredId; id <= kLastRetiredId; ++id) {
    if (!used.count(hex({id}))) return {id};
  }
  throw ApiError(ErrorCode::no_free_key_slot);
}

std::string request_for_new_key(pkcs11::Session& session, const pkcs11::Session::KeyPair& pair, const Bytes& subject) {
  const PkeyPtr key = p256_key(session, pair.public_key);
  if (!key) throw ApiError(ErrorCode::token_error, "the new public key is not a P-256 point");
  return make_csr_pem(key.get(), subject,
                      [&](const Bytes& digest) { return session.sign(pair.private_key, CKM_ECDSA, digest); });
}

}  // namespace

Renewal begin_renewal(TokenWork& work, RenewalStore& renewals, const std::string& certificate_id,
                      const std::string& origin) {
  const Bytes old_id = key_id_from_hex(certificate_id);
  return through_module([&] {
    pkcs11::Session session(work.module, work.slot, true);
    const std::vector<CK_OBJECT_HANDLE> certificates = session.find(CKO_CERTIFICATE, &old_id);
    if (certificates.empty()) throw ApiError(ErrorCode::certificate_not_found);
    const Bytes subject = session.attribute(certificates.front(), CKA_SUBJECT);
    log_in(work, session, renewal_text(work, certificate_id));

    // The record, with the new key's slot, comes before the key: a crash in between never
    // leaves a key nobody knows of, and no other renewal takes the slot.
    Bytes new_id = free_retired_slot(session, renewals.key_ids_of(work.token.serial));
    Renewal renewal = renewals.add({"", work.token.serial, certificate_id, hex(new_id), "", origin, ""});
    pkcs11::Session::KeyPair pair;
    try {
      CK_BBOOL yes = CK_TRUE;
      pair = session.generate_key_pair(CKM_EC_KEY_PAIR_GEN,
                                       {{CKA_EC_PARAMS, const_cast<CK_BYTE*>(kP256Oid), sizeof kP256Oid},
                                        {CKA_ID, new_id.data(), new_id.size()},
                                        {CKA_TOKEN, &yes, sizeof yes}},
                                       {{CKA_ID, new_id.data(), new_id.size()},
                                        {CKA_SIGN, &yes, sizeof yes},
                                        {CKA_TOKEN, &yes, sizeof yes}});
      renewal.csr_pem = request_for_new_key(session, pair, subject);
      renewals.set_csr(renewal.id, renewal.csr_pem);
      return renewal;
    } catch (...) {
      // No request, no key: the slot is free again.
      if (pair.private_key) session.destroy(pair.private_key);
      if (pair.public_key) session.destroy(pair.public_key);
      renewals.remove(renewal.id);
      throw;
    }
  });
}

void complete_renewal(TokenWork& work, RenewalStore& renewals, const Renewal& renewal, const Bytes& certificate_der) {
  const Bytes id = key_id_from_hex(renewal.key_id);
  const unsigned char* p = certificate_der.data();
  X509Ptr certificate(d2i_X509(nullptr, &p, static_cast<long>(certificate_der.size())), X509_free);
  if (!certificate) throw ApiError(ErrorCode::bad_request, "the certificate is not X.509");
  through_module([&] {
    pkcs11::Session session(work.module, work.slot, true);
    const std::vector<CK_OBJECT_HANDLE> public_keys = session.find(CKO_PUBLIC_KEY, &id);
    if (public_keys.empty()) throw ApiError(ErrorCode::renewal_not_found, "the renewal's key is not on the token");
    const PkeyPtr key = p256_key(session, public_keys.front());
    if (!key || EVP_PKEY_eq(key.get(), X509_get0_pubkey(certificate.get())) != 1) {
      throw ApiError(ErrorCode::certificate_mismatch);
    }
    log_in(work, session, {"store the renewed certificate", "写入更新后的证书"});
    Bytes subject(static_cast<std::size_t>(i2d_X509_NAME(X509_get_subject_name(certificate.get()), nullptr)));
    unsigned char* out = subject.data();
    i2d_X509_NAME(X509_get_subject_name(certificate.get()), &out);
    CK_OBJECT_CLASS certificate_class = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    session.create({{CKA_CLASS, &certificate_class, sizeof certificate_class},
                    {CKA_CERTIFICATE_TYPE, &x509, sizeof x509},
                    {CKA_TOKEN, &yes, sizeof yes},
                    {CKA_ID, const_cast<std::uint8_t*>(id.data()), id.size()},
                    {CKA_SUBJECT, subject.data(), subject.size()},
                    {CKA_VALUE, const_cast<std::uint8_t*>(certificate_der.data()), certificate_der.size()}});
    // Written is not done: the certificate must read back as sent.
    const std::vector<CK_OBJECT_HANDLE> stored = session.find(CKO_CERTIFICATE, &id);
    if (stored.empty() || session.attribute(stored.front(), CKA_VALUE) != certificate_der) {
      throw ApiError(ErrorCode::token_error, "the certificate did not read back as written");
    }
  });
  renewals.remove(renewal.id);
}

}  // namespace certkey::daemon
