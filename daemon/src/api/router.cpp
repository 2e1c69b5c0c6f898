#include "router.hpp"

#include "error_code.hpp"
#include "request_body.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace certkey::daemon {
namespace {

using nlohmann::json;

constexpr std::string_view kRenewalsPrefix = "/v1/renewals/";
constexpr std::string_view kCompleteSuffix = "/complete";

// The certificate a CA returned, PEM, as DER.
Bytes der_of_pem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> certificate(
      bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr, X509_free);
  if (!certificate) throw ApiError(ErrorCode::bad_request, "\"certificate\" is not a PEM X.509 certificate");
  const int n = i2d_X509(certificate.get(), nullptr);
  Bytes der(static_cast<std::size_t>(n));
  unsigned char* p = der.data();
  i2d_X509(certificate.get(), &p);
  return der;
}

json certificate_json(const CertificateSummary& c) {
  return {{"id", c.id},           {"label", c.label},         {"subject", c.subject},
          {"issuer", c.issuer},   {"not_before", c.not_before}, {"not_after", c.not_after}};
}

json renewal_json(const Renewal& r) {
  return {{"id", r.id},   {"token", r.serial},     {"certificate", r.certificate_id},
          {"key", r.key_id}, {"csr", r.csr_pem}, {"created", r.created}};
}

}  // namespace

ApiResponse Router::handle(const ApiRequest& request) {
  try {
    return dispatch(request);
  } catch (const ApiError& e) {
    return {error_info(e.code()).http_status, error_body(e.code(), e.what())};
  } catch (const std::exception& e) {
    return {500, error_body(ErrorCode::internal_error, e.what())};
  }
}

ApiResponse Router::dispatch(const ApiRequest& request) {
  const std::string& path = request.path;
  const bool get = request.method == "GET", post = request.method == "POST";
  if (path == "/v1/tokens") {
    if (!get) throw ApiError(ErrorCode::method_not_allowed);
    return list_tokens();
  }
  if (path == "/v1/renewals") {
    if (!post) throw ApiError(ErrorCode::method_not_allowed);
    return begin_renewal(request);
  }
  if (path.rfind(kRenewalsPrefix, 0) == 0) {
    std::string id = path.substr(kRenewalsPrefix.size());
    const bool complete = id.size() > kCompleteSuffix.size() &&
                          id.compare(id.size() - kCompleteSuffix.size(), kCompleteSuffix.size(), kCompleteSuffix) == 0;
    if (complete) id.resize(id.size() - kCompleteSuffix.size());
    if (id.empty() || id.find('/') != std::string::npos) throw ApiError(ErrorCode::not_found);
    if (complete) {
      if (!post) throw ApiError(ErrorCode::method_not_allowed);
      return complete_renewal(id, request);
    }
    if (!get) throw ApiError(ErrorCode::method_not_allowed);
    return show_renewal(id, request);
  }
  throw ApiError(ErrorCode::not_found);
}

ApiResponse Router::list_tokens() {
  json tokens = json::array();
  for (const TokenSummary& t : tokens_.list_tokens()) {
    json certificates = json::array();
    for (const CertificateSummary& c : t.certificates) certificates.push_back(certificate_json(c));
    tokens.push_back({{"serial", t.serial},     {"medium", t.medium},       {"label", t.label},
                      {"reader", t.reader},     {"pin_state", t.pin_state}, {"certificates", certificates}});
  }
  return {200, {{"tokens", tokens}}};
}

ApiResponse Router::begin_renewal(const ApiRequest& request) {
  const json body = parse_object(request.body, {"token", "certificate"});
  Renewal renewal;
  renewal.serial = serial_of(body["token"]);
  renewal.certificate_id = string_of(body["certificate"], "certificate");
  renewal.origin = request.origin;
  // The journal records the new key's slot before the key exists, so that a crash in
  // between never leaves a key nobody knows of, and no other renewal takes the slot.
  std::string id;
  try {
    const RenewalKey key = tokens_.begin_renewal(
        renewal.serial, renewal.certificate_id, journal_.key_ids_of(renewal.serial), [&](const std::string& key_id) {
          renewal.key_id = key_id;
          id = journal_.add(renewal).id;
        });
    renewal.csr_pem = key.csr_pem;
    return {201, {{"renewal", renewal_json(journal_.set_csr(id, key.csr_pem))}}};
  } catch (...) {
    if (!id.empty()) journal_.remove(id);
    throw;
  }
}

Renewal Router::renewal_of(const std::string& id, const ApiRequest& request) {
  std::optional<Renewal> renewal = journal_.find(id);
  // Another origin's renewal does not exist, as far as this origin can tell.
  if (!renewal || renewal->origin != request.origin) throw ApiError(ErrorCode::renewal_not_found);
  return *renewal;
}

ApiResponse Router::show_renewal(const std::string& id, const ApiRequest& request) {
  return {200, {{"renewal", renewal_json(renewal_of(id, request))}}};
}

ApiResponse Router::complete_renewal(const std::string& id, const ApiRequest& request) {
  const json body = parse_object(request.body, {"certificate"});
  const Renewal renewal = renewal_of(id, request);
  tokens_.complete_renewal(renewal.serial, renewal.key_id, der_of_pem(string_of(body["certificate"], "certificate")));
  journal_.remove(id);
  json done = renewal_json(renewal);
  done.erase("csr");
  return {200, {{"renewal", done}}};
}

}  // namespace certkey::daemon
