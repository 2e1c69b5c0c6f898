#include "renewal.hpp"

#include <openssl/pem.h>

#include <set>

#include "../core/error_code.hpp"
#include "../core/fault_point.hpp"
#include "../core/hex.hpp"
#include "../core/x509_text.hpp"
#include "authorization.hpp"
#include "csr.hpp"
#include "token_session.hpp"

namespace certkey::daemon {
namespace {

using pkcs11::Bytes;

const OperationText kFinishText{"finish an interrupted certificate renewal", "完成中断的证书更新"};
const OperationText kRetentionText{"remove a superseded certificate that has expired",
                                   "删除已过期的旧证书"};

// Records the state, then lets a test stop the daemon right before the step is taken.
void enter(RenewalContext& context, Renewal& renewal, RenewalState state) {
  renewal.state = state;
  context.store.record(renewal);
  fault_point(state_name(state));
}

// Lets a test stop the daemon right after the step was taken, before the next is recorded.
void step_taken(const Renewal& renewal) {
  fault_point(std::string(state_name(renewal.state)) + ".done");
}

// The new key, as the request names it.
EVP_PKEY* pending_key(X509_REQ* request) { return X509_REQ_get0_pubkey(request); }

std::string subject_of(X509* certificate) { return name_text(X509_get_subject_name(certificate)); }

OperationText begin_text(const std::string& subject) {
  return {"renew the certificate \"" + subject + "\"", "更新证书「" + subject + "」"};
}

// A retired slot with no key, no certificate, and not held by another renewal.
Bytes free_retired_slot(pkcs11::Session& session, const std::vector<std::string>& reserved) {
  std::set<std::string> used(reserved.begin(), reserved.end());
  for (CK_OBJECT_CLASS object_class : {CKO_PUBLIC_KEY, CKO_CERTIFICATE}) {
    for (CK_OBJECT_HANDLE object : session.find(object_class))
      used.insert(hex(session.attribute(object, CKA_ID)));
  }
  for (CK_BYTE id = kFirstRetiredId; id <= kLastRetiredId; ++id) {
    if (!used.count(hex({id}))) return {id};
  }
  throw ApiError(ErrorCode::no_free_key_slot);
}

void refuse_second_renewal(RenewalContext& context, const std::string& certificate_id) {
  for (const Renewal& r : context.store.of_token(context.work.token.serial)) {
    if (r.certificate_id == certificate_id && in_progress(r.state)) {
      throw ApiError(ErrorCode::renewal_in_progress,
                     "renewal " + r.id + " (" + std::string(state_name(r.state)) + ")");
    }
  }
}

// Deletes the key and certificate of the renewal's new slot; the slot is free again.
void roll_back(RenewalContext& context, TokenSession& session, Renewal& renewal) {
  enter(context, renewal, RenewalState::cancelling);
  session.clear_slot(slot_id(renewal.key_id), kFinishText);
  step_taken(renewal);
  context.store.remove(renewal.id);
}

// The swap: one command, one commit on the token. The superseded certificate's expiry is
// recorded first: it decides when the retired slot may be emptied.
void make_current(RenewalContext& context, TokenSession& session, Renewal& renewal,
                  X509_REQ* request) {
  const Bytes working = slot_id(renewal.certificate_id), retired = slot_id(renewal.key_id);
  if (const std::optional<Bytes> old = session.certificate(working)) {
    if (X509Ptr old_certificate = x509_from_der(*old)) {
      renewal.superseded_expiry = iso_time(X509_get0_notAfter(old_certificate.get()));
    }
  }
  enter(context, renewal, RenewalState::making_current);
  (*session).swap_slots(working.front(), retired.front());
  step_taken(renewal);
  const X509Ptr expected = x509_from_pem(renewal.certificate_pem);
  if (!holds_key(*session, working, pending_key(request)) || !expected ||
      session.certificate(working) != der_of(expected.get())) {
    throw ApiError(ErrorCode::token_error, "the renewed key and certificate are not in slot " +
                                               renewal.certificate_id + " after the swap");
  }
  enter(context, renewal, RenewalState::current);
}

// Writes the CA's certificate beside the new key and reads it back, then makes it current.
void write_and_make_current(RenewalContext& context, TokenSession& session, Renewal& renewal,
                            X509_REQ* request) {
  enter(context, renewal, RenewalState::writing_certificate);
  const X509Ptr certificate = x509_from_pem(renewal.certificate_pem);
  if (!certificate)
    throw ApiError(ErrorCode::internal_error,
                   "renewal " + renewal.id + " has no readable certificate");
  session.write_certificate(slot_id(renewal.key_id), der_of(certificate.get()));
  step_taken(renewal);
  make_current(context, session, renewal, request);
}

// The retired slot still holds the superseded key (never the renewed one), and retention,
// counted from the expiry of the certificate it holds, has ended.
bool retention_over(const Renewal& renewal, std::chrono::days retention) {
  if (renewal.state != RenewalState::current || renewal.superseded_expiry.empty()) return false;
  const std::time_t cutoff =
      std::time(nullptr) -
      static_cast<std::time_t>(std::chrono::duration_cast<std::chrono::seconds>(retention).count());
  return renewal.superseded_expiry < iso_time(cutoff);
}

// Takes a copy: the renewal itself stays `current`, as its caller reports it.
void remove_superseded(RenewalContext& context, TokenSession& session, Renewal renewal,
                       X509_REQ* request) {
  const Bytes retired = slot_id(renewal.key_id);
  // Never the working key: if the retired slot somehow holds the renewed key, nothing goes.
  if (holds_key(*session, retired, pending_key(request))) {
    throw ApiError(ErrorCode::internal_error,
                   "slot " + renewal.key_id + " holds the renewed key; it was kept");
  }
  enter(context, renewal, RenewalState::removing_superseded);
  session.clear_slot(retired, kRetentionText);
  step_taken(renewal);
  context.store.remove(renewal.id);
}

// One interrupted renewal, from what its state says may have happened and what the token
// shows. Returns what was done, or "" when nothing was to do.
std::string reconcile(RenewalContext& context, TokenSession& session, Renewal renewal) {
  const std::string name =
      "renewal " + renewal.id + " (" + std::string(state_name(renewal.state)) + "): ";
  switch (renewal.state) {
    case RenewalState::generating:  // no request went out: nothing to resume
    case RenewalState::cancelling:
      roll_back(context, session, renewal);
      return name + "rolled back";
    case RenewalState::removing_superseded:
      session.clear_slot(slot_id(renewal.key_id), kRetentionText);
      context.store.remove(renewal.id);
      return name + "superseded key removed";
    default: break;
  }
  const RequestPtr request = request_of(renewal);
  const bool new_in_new_slot =
      holds_key(*session, slot_id(renewal.key_id), pending_key(request.get()));
  const bool new_in_old_slot =
      holds_key(*session, slot_id(renewal.certificate_id), pending_key(request.get()));
  if (renewal.state == RenewalState::current) {
    if (!retention_over(renewal, context.retention)) return {};
    remove_superseded(context, session, renewal, request.get());
    return name + "superseded key removed";
  }
  if (renewal.state == RenewalState::making_current && new_in_old_slot) {
    enter(context, renewal, RenewalState::current);  // the swap was taken; its record was not
  } else if (!new_in_new_slot) {
    // Someone else deleted or replaced the new key: the renewal cannot go on.
    context.store.remove(renewal.id);
    return name + "its new key is gone from slot " + renewal.key_id + "; renewal dropped";
  } else if (renewal.state == RenewalState::awaiting_certificate) {
    return {};  // waiting for the CA, as it should
  } else {
    session.log_in(kFinishText);
    if (renewal.state == RenewalState::writing_certificate) {
      write_and_make_current(context, session, renewal, request.get());
    } else {
      make_current(context, session, renewal, request.get());
    }
  }
  if (retention_over(renewal, context.retention))
    remove_superseded(context, session, renewal, request.get());
  return name + "made current";
}

}  // namespace

RequestPtr request_of(const Renewal& renewal) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(renewal.csr_pem.data(), static_cast<int>(renewal.csr_pem.size())), BIO_free);
  RequestPtr request(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr,
                     X509_REQ_free);
  if (!request)
    throw ApiError(ErrorCode::internal_error, "renewal " + renewal.id + " has no readable request");
  return request;
}

Renewal begin_renewal(RenewalContext& context, const std::string& certificate_id,
                      std::optional<KeyAlgorithm> algorithm) {
  const Bytes old_id = slot_id(certificate_id);
  refuse_second_renewal(context, certificate_id);
  return through_module([&] {
    TokenSession session(context.work);
    const std::optional<Bytes> old_der = session.certificate(old_id);
    if (!old_der) throw ApiError(ErrorCode::certificate_not_found);
    const X509Ptr old_certificate = x509_from_der(*old_der);
    if (!old_certificate)
      throw ApiError(ErrorCode::token_error,
                     "the certificate in slot " + certificate_id + " is not X.509");
    // The renewed key signs the authorization: it must be the certificate's.
    if (!holds_key(*session, old_id, X509_get0_pubkey(old_certificate.get()))) {
      throw ApiError(ErrorCode::certificate_mismatch,
                     "slot " + certificate_id + " holds no key for its certificate");
    }
    session.log_in(begin_text(subject_of(old_certificate.get())));
    const std::optional<TokenKey> old_key = find_key(*session, old_id);
    if (!old_key || !old_key->private_key)
      throw ApiError(ErrorCode::token_error, "the renewed key is not usable");
    const KeyAlgorithm new_algorithm = algorithm.value_or(old_key->algorithm);

    // The record, with the new key's slot, comes before the key: a crash in between never
    // leaves a key nobody knows of, and no other renewal takes the slot.
    const Bytes new_id =
        free_retired_slot(*session, context.store.key_ids_of(context.work.token.serial));
    Renewal renewal;
    renewal.serial = context.work.token.serial;
    renewal.certificate_id = certificate_id;
    renewal.key_id = hex(new_id);
    renewal.algorithm = std::string(algorithm_name(new_algorithm));
    renewal.origin = context.work.caller.origin_text();
    renewal = context.store.add(std::move(renewal));
    fault_point(state_name(RenewalState::generating));
    try {
      const TokenKey new_key = generate_key(*session, new_id, new_algorithm);
      step_taken(renewal);
      const Csr csr = make_csr(
          new_key.public_value.get(), new_algorithm,
          der_of(X509_get_subject_name(old_certificate.get())),
          [&](const Bytes& body) { return sign_message(*session, new_key, body, session.pin()); });
      renewal.csr_pem = csr.pem;
      renewal.authorization = make_authorization(
          *old_der, old_key->algorithm, {renewal.id, renewal.origin, csr.der, std::time(nullptr)},
          [&](const Bytes& input) {
            return sign_message(*session, *old_key, input, session.pin());
          });
      enter(context, renewal, RenewalState::awaiting_certificate);
      return renewal;
    } catch (...) {
      // No request went out: the new key goes. If the token cannot be reached now, the
      // recorded state has reconcile finish this later.
      try {
        roll_back(context, session, renewal);
      } catch (...) {
      }
      throw;
    }
  });
}

Renewal complete_renewal(RenewalContext& context, Renewal renewal,
                         const IssuedCertificate& issued) {
  if (renewal.state != RenewalState::awaiting_certificate) {
    throw ApiError(ErrorCode::renewal_state_conflict,
                   "the renewal is " + std::string(state_name(renewal.state)));
  }
  const RequestPtr request = request_of(renewal);
  // Every check before the token is touched: a refused certificate changes nothing.
  check_issued(issued, pending_key(request.get()), X509_REQ_get_subject_name(request.get()),
               context.trust);
  return through_module([&] {
    TokenSession session(context.work);
    if (!holds_key(*session, slot_id(renewal.key_id), pending_key(request.get()))) {
      throw ApiError(ErrorCode::renewal_not_found, "the renewal's key is no longer on the token");
    }
    const std::string subject = subject_of(issued.certificate.get());
    session.log_in({"store the renewed certificate \"" + subject + "\" and make it current",
                    "写入更新后的证书「" + subject + "」并启用"});
    renewal.certificate_pem = issued.pem;
    write_and_make_current(context, session, renewal, request.get());
    if (retention_over(renewal, context.retention))
      remove_superseded(context, session, renewal, request.get());
    return renewal;
  });
}

void cancel_renewal(RenewalContext& context, Renewal renewal) {
  if (renewal.state != RenewalState::awaiting_certificate &&
      renewal.state != RenewalState::generating) {
    throw ApiError(ErrorCode::renewal_state_conflict,
                   "the renewal is " + std::string(state_name(renewal.state)));
  }
  through_module([&] {
    TokenSession session(context.work);
    roll_back(context, session, renewal);
  });
}

std::vector<std::string> reconcile_renewals(RenewalContext& context) {
  std::vector<std::string> report;
  through_module([&] {
    TokenSession session(context.work);
    for (Renewal& renewal : context.store.of_token(context.work.token.serial)) {
      std::string done = reconcile(context, session, std::move(renewal));
      if (!done.empty()) report.push_back(std::move(done));
    }
  });
  return report;
}

}  // namespace certkey::daemon
