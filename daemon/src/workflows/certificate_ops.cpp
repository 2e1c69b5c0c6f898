#include "certificate_ops.hpp"

#include <openssl/pem.h>

#include "../core/error_code.hpp"
#include "../core/fault_point.hpp"
#include "../core/x509_text.hpp"
#include "token_keys.hpp"
#include "token_session.hpp"

namespace certkey::daemon {
namespace {

using pkcs11::Bytes;

// The slot's certificate, parsed; certificate_not_found when there is none.
X509Ptr slot_certificate(TokenSession& session, const std::string& slot, Bytes* der = nullptr) {
  const std::optional<Bytes> found = session.certificate(slot_id(slot));
  if (!found) throw ApiError(ErrorCode::certificate_not_found);
  X509Ptr certificate = x509_from_der(*found);
  if (!certificate)
    throw ApiError(ErrorCode::token_error, "the certificate in slot " + slot + " is not X.509");
  if (der) *der = *found;
  return certificate;
}

void refuse_during_renewal(SlotChangeContext& context, const std::string& slot) {
  for (const Renewal& r : context.renewals.of_token(context.work.token.serial)) {
    if (in_progress(r.state) && (r.certificate_id == slot || r.key_id == slot)) {
      throw ApiError(ErrorCode::renewal_in_progress, "renewal " + r.id + " holds slot " + slot);
    }
  }
}

OperationText delete_text(const std::string& subject) {
  return {"delete the certificate \"" + subject +
              "\" and its key from this token (this cannot be undone)",
          "从介质中删除证书「" + subject + "」及其密钥（不可恢复）"};
}

}  // namespace

void change_certificate(SlotChangeContext& context, const std::string& slot,
                        const IssuedCertificate& issued) {
  refuse_during_renewal(context, slot);
  through_module([&] {
    TokenSession session(context.work);
    const X509Ptr old = slot_certificate(session, slot);
    const std::optional<TokenKey> key = find_key(*session, slot_id(slot));
    if (!key) throw ApiError(ErrorCode::certificate_mismatch, "slot " + slot + " holds no key");
    // A change may carry new holder details: the subject is not held to the old one.
    check_issued(issued, key->public_value.get(), nullptr, context.trust);
    const std::string subject = name_text(X509_get_subject_name(issued.certificate.get()));
    session.log_in({"replace a certificate with the re-issued \"" + subject + "\"",
                    "写入变更后的证书「" + subject + "」"});
    const SlotChange change =
        context.store.add({"", context.work.token.serial, slot, SlotChange::Kind::change,
                           pem_of(old.get()), issued.pem, context.work.caller.origin_text(), ""});
    fault_point("changing_certificate");
    // One PUT DATA, one commit on the token: the slot holds the old certificate or the new
    // one, and write_certificate reads it back.
    session.write_certificate(slot_id(slot), issued.der);
    fault_point("changing_certificate.done");
    context.store.remove(change.id);
  });
}

void revoke_certificate(SlotChangeContext& context, const std::string& slot) {
  refuse_during_renewal(context, slot);
  through_module([&] {
    TokenSession session(context.work);
    const X509Ptr old = slot_certificate(session, slot);
    const std::string subject = name_text(X509_get_subject_name(old.get()));
    if (!context.work.confirm(delete_text(subject))) throw ApiError(ErrorCode::revoke_declined);
    session.log_in(delete_text(subject));
    const SlotChange change =
        context.store.add({"", context.work.token.serial, slot, SlotChange::Kind::revoke,
                           pem_of(old.get()), "", context.work.caller.origin_text(), ""});
    fault_point("revoking_certificate");
    session.clear_slot(slot_id(slot), delete_text(subject));
    fault_point("revoking_certificate.done");
    context.store.remove(change.id);
  });
}

std::vector<std::string> reconcile_slot_changes(SlotChangeContext& context) {
  std::vector<std::string> report;
  through_module([&] {
    TokenSession session(context.work);
    for (const SlotChange& change : context.store.of_token(context.work.token.serial)) {
      if (change.kind == SlotChange::Kind::revoke) {
        // The holder said yes: the deletion is finished.
        session.clear_slot(slot_id(change.slot), {"finish deleting a certificate you confirmed",
                                                  "完成您已确认的证书删除"});
        report.push_back("revocation of slot " + change.slot + " finished");
      } else {
        // The write is one commit: the slot shows the old certificate or the new one.
        const std::optional<Bytes> now = session.certificate(slot_id(change.slot));
        const X509Ptr next = x509_from_pem(change.next_pem);
        const bool written = now && next && *now == der_of(next.get());
        report.push_back(
            "change of slot " + change.slot +
            (written ? ": the new certificate is in place" : ": the slot kept its certificate"));
      }
      context.store.remove(change.id);
    }
  });
  return report;
}

}  // namespace certkey::daemon
