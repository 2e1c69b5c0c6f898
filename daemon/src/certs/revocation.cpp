#include "revocation.hpp"

#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "http_fetch.hpp"
#include "openssl_support.hpp"

namespace certkey::daemon {
namespace {

using State = RevocationChecker::State;
using Source = RevocationChecker::Source;
using Status = RevocationChecker::Status;

// Each URL may cost a whole fetch timeout; a certificate that names more is asking for a
// long wait, and the first ones are the CA's preference.
inline constexpr std::size_t kMaxUrlsPerMethod = 2;
// Leeway for the clocks of the responder, the CA and this machine: the default of the
// `openssl ocsp` command's -validity_period, which it passes to OCSP_check_validity(3).
inline constexpr long kMaxClockSkewSeconds = 5 * 60;
// RFC 6960 Appendix A.1.
inline constexpr std::string_view kOcspRequestType = "application/ocsp-request";

Status unknown(std::string detail) {
  Status status;
  status.detail = std::move(detail);
  return status;
}

std::string reason_text(long reason) {
  return reason >= 0 ? std::string(" (") + OCSP_crl_reason_str(reason) + ")" : std::string();
}

// The responder URLs of the Authority Information Access extension (RFC 5280 §4.2.2.1).
std::vector<std::string> ocsp_urls(X509* cert) {
  std::vector<std::string> out;
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(cert);
  for (int i = 0; i < sk_OPENSSL_STRING_num(urls) && out.size() < kMaxUrlsPerMethod; ++i) {
    out.emplace_back(sk_OPENSSL_STRING_value(urls, i));
  }
  X509_email_free(urls);
  return out;
}

// The URIs of the distribution points that can speak for every certificate the CA issued
// and for every reason: a point with cRLIssuer is an indirect CRL, one with reasons covers
// only some (RFC 5280 §4.2.1.13, §6.3.3). Neither could say "good" on its own.
std::vector<std::string> crl_urls(X509* cert) {
  std::vector<std::string> out;
  auto* points = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert, NID_crl_distribution_points, nullptr, nullptr));
  for (int i = 0; i < sk_DIST_POINT_num(points); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points, i);
    if (!point->distpoint || point->distpoint->type != 0 || point->CRLissuer || point->reasons)
      continue;
    const GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names) && out.size() < kMaxUrlsPerMethod; ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                       static_cast<std::size_t>(ASN1_STRING_length(uri)));
    }
  }
  CRL_DIST_POINTS_free(points);
  return out;
}

// The issuer's name and key (two CAs may share a name across a re-key) and the serial.
std::optional<std::string> cache_key(X509* cert, X509* issuer) {
  unsigned char name_hash[EVP_MAX_MD_SIZE];
  unsigned char key_hash[EVP_MAX_MD_SIZE];
  unsigned int name_length = 0;
  unsigned int key_length = 0;
  if (X509_NAME_digest(X509_get_subject_name(issuer), EVP_sha256(), name_hash, &name_length) != 1 ||
      X509_pubkey_digest(issuer, EVP_sha256(), key_hash, &key_length) != 1) {
    return std::nullopt;
  }
  unsigned char* serial = nullptr;
  const int serial_length = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial);
  if (serial_length <= 0) return std::nullopt;
  std::string key(reinterpret_cast<const char*>(name_hash), name_length);
  key.append(reinterpret_cast<const char*>(key_hash), key_length);
  key.append(reinterpret_cast<const char*>(serial), static_cast<std::size_t>(serial_length));
  OPENSSL_free(serial);
  return key;
}

// RFC 6960 §4.2.2.2: a response is signed by the CA that issued the certificate, or by a
// responder whose certificate that CA issued with id-kp-OCSPSigning. OCSP_basic_verify(3)
// checks exactly that when the issuer is its only anchor: partial chains let the issuer end
// the responder's path, and OCSP_NOEXPLICIT turns off the third way, a locally trusted
// responder, which certkeyd does not have.
bool signed_for(OCSP_BASICRESP* basic, X509* issuer) {
  certs::Store store(X509_STORE_new());
  certs::X509Stack certificates(sk_X509_new_null());
  if (!store || !certificates || X509_STORE_add_cert(store.get(), issuer) != 1 ||
      sk_X509_push(certificates.get(), issuer) <= 0) {
    return false;
  }
  X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN);
  return OCSP_basic_verify(basic, certificates.get(), store.get(), OCSP_NOEXPLICIT) == 1;
}

std::optional<std::vector<std::uint8_t>> ocsp_request(OCSP_CERTID* id,
                                                      certs::OcspRequest& request) {
  request.reset(OCSP_REQUEST_new());
  OCSP_CERTID* request_id = OCSP_CERTID_dup(id);
  if (!request || !request_id) {
    OCSP_CERTID_free(request_id);
    return std::nullopt;
  }
  if (!OCSP_request_add0_id(request.get(), request_id)) {
    OCSP_CERTID_free(request_id);
    return std::nullopt;
  }
  // A nonce ties the answer to this request (RFC 6960 §4.4.1); responders that answer from
  // precomputed responses leave it out (RFC 5019), which the check in ask_ocsp allows.
  if (OCSP_request_add1_nonce(request.get(), nullptr, -1) != 1) return std::nullopt;
  unsigned char* der = nullptr;
  const int length = i2d_OCSP_REQUEST(request.get(), &der);
  if (length <= 0) return std::nullopt;
  std::vector<std::uint8_t> out(der, der + length);
  OPENSSL_free(der);
  return out;
}

// The SingleResponse for `id` in a signed, current basic response.
Status read_ocsp_answer(OCSP_BASICRESP* basic, OCSP_CERTID* id, const std::string& where) {
  int state = -1;
  int reason = -1;
  ASN1_GENERALIZEDTIME* revoked_at = nullptr;
  ASN1_GENERALIZEDTIME* this_update = nullptr;
  ASN1_GENERALIZEDTIME* next_update = nullptr;
  if (OCSP_resp_find_status(basic, id, &state, &reason, &revoked_at, &this_update, &next_update) !=
      1) {
    return unknown(where + ": the response does not cover the certificate");
  }
  if (OCSP_check_validity(this_update, next_update, kMaxClockSkewSeconds, -1) != 1) {
    return unknown(where + ": the response is out of date (thisUpdate " +
                   certs::time_text(this_update) + ", nextUpdate " +
                   (next_update ? certs::time_text(next_update) : "none") + ")");
  }
  Status status;
  status.source = Source::ocsp;
  if (next_update) status.next_update = certs::to_time(next_update);
  switch (state) {
    case V_OCSP_CERTSTATUS_GOOD:
      status.state = State::good;
      status.detail = where + ": good";
      break;
    case V_OCSP_CERTSTATUS_REVOKED:
      status.state = State::revoked;
      status.revoked_at = certs::to_time(revoked_at);
      status.detail = where + ": revoked at " + certs::time_text(revoked_at) + reason_text(reason);
      break;
    default:
      status.source = Source::none;
      status.detail = where + ": the responder does not know the certificate";
      break;
  }
  return status;
}

// RFC 6960: one request for one certificate, POSTed (Appendix A.1).
Status ask_ocsp(const std::string& url_text, X509* cert, X509* issuer, const FetchLimits& limits) {
  const std::string where = "OCSP responder " + url_text;
  std::string why;
  const std::optional<HttpUrl> url = parse_http_url(url_text, why);
  if (!url) return unknown(where + " not asked: " + why);
  // SHA-1 for the CertID: what every responder understands (RFC 5019 §2.1.1).
  certs::OcspCertId id(OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  certs::OcspRequest request;
  const std::optional<std::vector<std::uint8_t>> der =
      id ? ocsp_request(id.get(), request) : std::nullopt;
  if (!der) return unknown(where + " not asked: cannot build the request");

  const FetchResult fetched = http_post(*url, kOcspRequestType, *der, limits);
  if (!fetched.ok) return unknown(where + ": " + fetched.error);
  const unsigned char* p = fetched.body.data();
  certs::OcspResponse response(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(fetched.body.size())));
  if (!response) return unknown(where + " answered with something that is not an OCSP response");
  const int response_status = OCSP_response_status(response.get());
  if (response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    return unknown(where + " answered " + OCSP_response_status_str(response_status));
  }
  certs::OcspBasic basic(OCSP_response_get1_basic(response.get()));
  if (!basic) return unknown(where + " answered without a basic response");
  if (OCSP_check_nonce(request.get(), basic.get()) == 0) {
    return unknown(where + ": the response's nonce is not the request's");
  }
  if (!signed_for(basic.get(), issuer)) {
    return unknown(where +
                   ": the response is not signed by the issuer or by a responder it authorised");
  }
  return read_ocsp_answer(basic.get(), id.get(), where);
}

// RFC 5280 §6.3.3(b): a CRL speaks only for the certificates in its scope. certkeyd reads
// complete, direct CRLs; anything else cannot say "good" and is left to `unknown`.
std::string crl_scope_problem(X509_CRL* crl, X509* cert) {
  if (X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) >= 0) return "it is a delta CRL";
  int critical = 0;
  auto* scope = static_cast<ISSUING_DIST_POINT*>(
      X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &critical, nullptr));
  if (!scope)
    return critical == -1 ? std::string() : "its issuing distribution point cannot be read";
  const bool ca = X509_check_ca(cert) != 0;
  std::string problem;
  if (scope->indirectCRL)
    problem = "it is an indirect CRL";
  else if (scope->onlysomereasons)
    problem = "it covers only some revocation reasons";
  else if (scope->onlyattr)
    problem = "it covers only attribute certificates";
  else if (scope->onlyuser && ca)
    problem = "it covers only end-entity certificates";
  else if (scope->onlyCA && !ca)
    problem = "it covers only CA certificates";
  ISSUING_DIST_POINT_free(scope);
  return problem;
}

// RFC 5280 §5.2: a CRL with a critical extension the reader does not process must not be used.
std::string crl_extension_problem(X509_CRL* crl) {
  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
    X509_EXTENSION* extension = X509_CRL_get_ext(crl, i);
    if (!X509_EXTENSION_get_critical(extension)) continue;
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(extension));
    if (nid != NID_issuing_distribution_point && nid != NID_authority_key_identifier &&
        nid != NID_crl_number) {
      return "it has a critical extension certkeyd does not process";
    }
  }
  return {};
}

// RFC 5280 §6.3.3: the CRL is the issuer's (same name, the issuer may sign CRLs, its
// signature verifies with the issuer's key), current, complete and covers the certificate.
std::string crl_problem(X509_CRL* crl, X509* cert, X509* issuer, std::time_t now) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0) {
    return "it is issued by '" + certs::name_text(X509_CRL_get_issuer(crl)) +
           "', not by the certificate's issuer";
  }
  if ((X509_get_key_usage(issuer) & KU_CRL_SIGN) == 0)
    return "the issuer's key usage does not allow signing CRLs";
  EVP_PKEY* key = X509_get0_pubkey(issuer);
  if (!key || X509_CRL_verify(crl, key) != 1)
    return "its signature does not verify with the issuer's key";
  const std::optional<std::time_t> this_update = certs::to_time(X509_CRL_get0_lastUpdate(crl));
  const std::optional<std::time_t> next_update = certs::to_time(X509_CRL_get0_nextUpdate(crl));
  if (!this_update || *this_update > now + kMaxClockSkewSeconds) {
    return "it is not valid until " + certs::time_text(X509_CRL_get0_lastUpdate(crl));
  }
  if (next_update && *next_update < now - kMaxClockSkewSeconds) {
    return "it is out of date since " + certs::time_text(*next_update);
  }
  if (std::string problem = crl_extension_problem(crl); !problem.empty()) return problem;
  return crl_scope_problem(crl, cert);
}

Status read_crl(const std::string& url_text, X509* cert, X509* issuer, const FetchLimits& limits) {
  const std::string where = "CRL " + url_text;
  std::string why;
  const std::optional<HttpUrl> url = parse_http_url(url_text, why);
  if (!url) return unknown(where + " not fetched: " + why);
  const FetchResult fetched = http_get(*url, limits);
  if (!fetched.ok) return unknown(where + ": " + fetched.error);
  // RFC 5280 §4.2.1.13: over http, "a single DER encoded CRL".
  const unsigned char* p = fetched.body.data();
  const certs::Crl crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(fetched.body.size())));
  if (!crl) return unknown(where + " is not a DER CRL");
  if (std::string problem = crl_problem(crl.get(), cert, issuer, std::time(nullptr));
      !problem.empty()) {
    return unknown(where + " not used: " + problem);
  }
  Status status;
  status.source = Source::crl;
  status.next_update = certs::to_time(X509_CRL_get0_nextUpdate(crl.get()));
  X509_REVOKED* entry = nullptr;
  // 2 is removeFromCRL, which only a delta CRL carries (refused above): not revoked.
  if (X509_CRL_get0_by_cert(crl.get(), &entry, cert) != 1) {
    status.state = State::good;
    status.detail = where + ": not revoked";
    return status;
  }
  status.state = State::revoked;
  status.revoked_at = certs::to_time(X509_REVOKED_get0_revocationDate(entry));
  auto* code = static_cast<ASN1_ENUMERATED*>(
      X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr));
  const long reason = code ? ASN1_ENUMERATED_get(code) : -1;
  ASN1_ENUMERATED_free(code);
  status.detail = where + ": revoked at " +
                  certs::time_text(X509_REVOKED_get0_revocationDate(entry)) + reason_text(reason);
  return status;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : "; ") + part;
  return out;
}

}  // namespace

RevocationChecker::Status RevocationChecker::ask(X509* cert, X509* issuer) const {
  if (X509_check_issued(issuer, cert) != X509_V_OK) {
    return unknown("'" + certs::subject_text(issuer) + "' is not the issuer of '" +
                   certs::subject_text(cert) + "'");
  }
  const FetchLimits limits{options_.fetch_timeout, options_.max_response_bytes};
  std::vector<std::string> notes;
  // OCSP first: an answer about this one certificate, usually fresher than the CRL.
  for (const std::string& url : ocsp_urls(cert)) {
    Status status = ask_ocsp(url, cert, issuer, limits);
    if (status.state != State::unknown) return status;
    notes.push_back(std::move(status.detail));
  }
  for (const std::string& url : crl_urls(cert)) {
    Status status = read_crl(url, cert, issuer, limits);
    if (status.state != State::unknown) return status;
    notes.push_back(std::move(status.detail));
  }
  if (notes.empty())
    return unknown("the certificate names no OCSP responder and no CRL distribution point");
  return unknown(joined(notes));
}

RevocationChecker::Status RevocationChecker::check(X509* cert, X509* issuer) {
  certs::ErrorQueueGuard guard;
  if (!cert || !issuer) return unknown("no certificate, or no issuer to check it against");
  try {
    const std::optional<std::string> key = cache_key(cert, issuer);
    if (!key) return unknown("cannot identify the certificate");
    if (std::optional<Status> hit = fresh(*key)) return *hit;
    Status status = ask(cert, issuer);
    remember(*key, status, std::time(nullptr));
    return status;
  } catch (const std::exception& e) {  // out of memory, in practice
    return unknown(std::string("the check failed: ") + e.what());
  }
}

std::optional<RevocationChecker::Status> RevocationChecker::cached(X509* cert, X509* issuer) const {
  certs::ErrorQueueGuard guard;
  if (!cert || !issuer) return std::nullopt;
  const std::optional<std::string> key = cache_key(cert, issuer);
  return key ? fresh(*key) : std::nullopt;
}

std::optional<RevocationChecker::Status> RevocationChecker::fresh(const std::string& key) const {
  const std::lock_guard lock(mutex_);
  const auto entry = cache_.find(key);
  if (entry == cache_.end() || entry->second.expires <= std::time(nullptr)) return std::nullopt;
  return entry->second.status;
}

void RevocationChecker::remember(const std::string& key, const Status& status, std::time_t now) {
  std::time_t expires = now + options_.default_lifetime.count();
  if (status.state == State::unknown) {
    expires = now + options_.unknown_lifetime.count();
  } else if (status.next_update) {
    expires = *status.next_update;
  }
  if (expires <= now || options_.max_cache_entries == 0) return;
  const std::lock_guard lock(mutex_);
  if (cache_.size() >= options_.max_cache_entries && !cache_.contains(key)) {
    std::erase_if(cache_, [now](const auto& entry) { return entry.second.expires <= now; });
    if (cache_.size() >= options_.max_cache_entries) {
      // Full of fresh answers: the one that would be asked again soonest goes.
      cache_.erase(std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
        return a.second.expires < b.second.expires;
      }));
    }
  }
  cache_.insert_or_assign(key, Entry{status, expires});
}

std::string_view status_name(RevocationChecker::State state) {
  switch (state) {
    case RevocationChecker::State::good: return "good";
    case RevocationChecker::State::revoked: return "revoked";
    case RevocationChecker::State::unknown: return "unknown";
  }
  return "unknown";
}

}  // namespace certkey::daemon
