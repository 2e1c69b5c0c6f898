#include "trust_store.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace certkey::daemon {
namespace {

// PEM allows encrypted blocks ("Proc-Type: 4,ENCRYPTED"); OpenSSL's default callback would
// then ask for a passphrase on the terminal. Certificates are never encrypted: refuse.
int no_passphrase(char*, int, int, void*) { return 0; }

bool at_end_of_pem(unsigned long error) {
  return error == 0 ||
         (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE);
}

// `source` names the text in errors ("the chain", or a file name).
std::vector<X509Ptr> parse_pem(std::string_view pem, std::size_t max_certificates,
                               const std::string& source) {
  certs::ErrorQueueGuard guard;
  if (pem.empty()) throw CertificateError(source + " holds no PEM certificate");
  certs::Bio in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!in) throw CertificateError(source + ": out of memory");
  std::vector<X509Ptr> out;
  ERR_clear_error();
  while (X509* certificate = PEM_read_bio_X509(in.get(), nullptr, no_passphrase, nullptr)) {
    if (out.size() == max_certificates) {
      X509_free(certificate);
      throw CertificateError(source + " holds more than " + std::to_string(max_certificates) +
                             " certificates");
    }
    out.push_back(certs::adopt(certificate));
  }
  // The reader stops with "no start line" at the end of the text; anything else is a block
  // it could not decode (bad base64, a damaged DER body).
  if (!at_end_of_pem(ERR_peek_last_error())) {
    throw CertificateError(source + ": certificate " + std::to_string(out.size() + 1) +
                           " is not valid PEM");
  }
  if (out.empty()) throw CertificateError(source + " holds no PEM certificate");
  return out;
}

std::string read_bounded(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CertificateError("cannot read " + path + ": " + std::strerror(errno));
  std::string text;
  text.resize(max_bytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw CertificateError("cannot read " + path + ": " + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_bytes) {
    throw CertificateError(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return text;
}

std::vector<X509Ptr> load_role(const std::string& path, const char* role) {
  try {
    return load_pem_file(path);
  } catch (const CertificateError& e) {
    throw CertificateError(std::string(role) + ": " + e.what());
  }
}

bool no_path(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED: return true;
    default: return false;
  }
}

// OpenSSL's verifier stops at the first error, and checks validity periods only once it has
// a path to an anchor: so `expired` and `not_yet_valid` always mean "trusted, but not now".
void classify_failure(X509_STORE_CTX* context, X509* leaf, TrustStore::Result& result) {
  const int error = X509_STORE_CTX_get_error(context);
  const X509* at = X509_STORE_CTX_get_current_cert(context);
  const std::string who = "'" + certs::subject_text(at ? at : leaf) + "'";
  if (error == X509_V_ERR_CERT_HAS_EXPIRED && at) {
    result.status = TrustStore::Status::expired;
    result.detail =
        "certificate " + who + " expired at " + certs::time_text(X509_get0_notAfter(at));
  } else if (error == X509_V_ERR_CERT_NOT_YET_VALID && at) {
    result.status = TrustStore::Status::not_yet_valid;
    result.detail =
        "certificate " + who + " is not valid until " + certs::time_text(X509_get0_notBefore(at));
  } else if (no_path(error)) {
    result.status = TrustStore::Status::untrusted;
    result.detail = "no path from '" + certs::subject_text(leaf) +
                    "' to a configured trust anchor (it ends at " + who + ": " +
                    X509_verify_cert_error_string(error) + ")";
  } else {
    result.status = TrustStore::Status::untrusted;
    result.detail = "certificate " + who + ": " + X509_verify_cert_error_string(error);
  }
}

}  // namespace

std::vector<X509Ptr> parse_pem_bundle(std::string_view pem, std::string_view what) {
  if (pem.size() > kMaxBundleBytes) {
    throw CertificateError(std::string(what) + " is larger than " +
                           std::to_string(kMaxBundleBytes) + " bytes");
  }
  return parse_pem(pem, kMaxBundleCertificates, std::string(what));
}

std::vector<X509Ptr> load_pem_file(const std::string& path) {
  return parse_pem(read_bounded(path, kMaxTrustFileBytes), kMaxTrustFileCertificates, path);
}

TrustStore::TrustStore(const std::vector<std::string>& anchor_files,
                       const std::vector<std::string>& intermediate_files)
    : store_(X509_STORE_new()) {
  certs::ErrorQueueGuard guard;
  if (!store_) throw CertificateError("cannot create a certificate store");
  // Deliberately no X509_STORE_set_default_paths: the system's CAs are not the anchors an
  // administrator configured for the token's certificates.
  for (const std::string& path : anchor_files) {
    for (const X509Ptr& anchor : load_role(path, "trust anchor file")) {
      if (X509_STORE_add_cert(store_.get(), anchor.get()) != 1) {
        throw CertificateError("trust anchor file " + path + ": cannot add '" +
                               certs::subject_text(anchor.get()) + "'");
      }
      ++anchor_count_;
    }
  }
  for (const std::string& path : intermediate_files) {
    std::vector<X509Ptr> certificates = load_role(path, "intermediate file");
    intermediates_.insert(intermediates_.end(), std::make_move_iterator(certificates.begin()),
                          std::make_move_iterator(certificates.end()));
  }
}

TrustStore::Result TrustStore::verify(X509* leaf, const std::vector<X509*>& extra_chain,
                                      std::time_t now) const {
  certs::ErrorQueueGuard guard;
  Result result;
  if (!leaf) {
    result.detail = "no certificate to verify";
    return result;
  }
  // Declared before the context, so it outlives it: the context borrows the stack.
  certs::X509Stack untrusted(sk_X509_new_null());
  certs::StoreContext context(X509_STORE_CTX_new());
  if (!untrusted || !context) {
    result.detail = "out of memory";
    return result;
  }
  // Supplied and configured intermediates only help build the path; they are never anchors.
  for (X509* certificate : extra_chain) {
    if (certificate && sk_X509_push(untrusted.get(), certificate) <= 0) {
      result.detail = "out of memory";
      return result;
    }
  }
  for (const X509Ptr& certificate : intermediates_) {
    if (sk_X509_push(untrusted.get(), certificate.get()) <= 0) {
      result.detail = "out of memory";
      return result;
    }
  }
  if (X509_STORE_CTX_init(context.get(), store_.get(), leaf, untrusted.get()) != 1) {
    result.detail = "cannot start the verification";
    return result;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
  X509_VERIFY_PARAM_set_time(param, now);
  // Off by default; said here because it is the rule: a path ends at a configured root, not
  // at whichever configured certificate comes first (X509_VERIFY_PARAM_set_flags(3)).
  X509_VERIFY_PARAM_clear_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  const int verified = X509_verify_cert(context.get());
  result.chain = certs::adopt_all(X509_STORE_CTX_get1_chain(context.get()));
  if (verified == 1) {
    result.status = Status::valid;
    const X509* anchor = result.chain.empty() ? nullptr : result.chain.back().get();
    result.detail = "chains to the trust anchor '" + certs::subject_text(anchor) + "'";
    return result;
  }
  classify_failure(context.get(), leaf, result);
  return result;
}

std::string_view status_name(TrustStore::Status status) {
  switch (status) {
    case TrustStore::Status::valid: return "valid";
    case TrustStore::Status::untrusted: return "untrusted";
    case TrustStore::Status::expired: return "expired";
    case TrustStore::Status::not_yet_valid: return "not_yet_valid";
  }
  return "untrusted";
}

void TrustStore::trust_in(ssl_ctx_st* tls) const { SSL_CTX_set1_cert_store(tls, store_.get()); }

}  // namespace certkey::daemon
