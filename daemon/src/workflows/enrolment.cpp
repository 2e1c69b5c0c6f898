#include "enrolment.hpp"

#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/ssl.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "../certs/trust_store.hpp"
#include "../core/base64.hpp"
#include "../core/c_free.hpp"
#include "../core/error_code.hpp"
#include "../core/fault_point.hpp"
#include "token_session.hpp"
#include "token_tls_key.hpp"

namespace certkey::daemon {
namespace {

using Bytes = std::vector<std::uint8_t>;
using TlsContext = std::unique_ptr<SSL_CTX, Free<SSL_CTX, SSL_CTX_free>>;
using Pkcs7 = std::unique_ptr<PKCS7, Free<PKCS7, PKCS7_free>>;

const FetchLimits kEnrolmentLimits{std::chrono::seconds(30), 256 * 1024};

// TLS 1.2 or later, the server verified against the configured anchors only.
TlsContext client_context(const TrustStore& trust) {
  if (trust.empty()) {
    throw ApiError(ErrorCode::ca_unreachable,
                   "no trust anchors are configured to check the CA's server with");
  }
  TlsContext tls(SSL_CTX_new(TLS_client_method()));
  if (!tls) throw ApiError(ErrorCode::internal_error, "no TLS context");
  SSL_CTX_set_min_proto_version(tls.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(tls.get(), SSL_VERIFY_PEER, nullptr);
  trust.trust_in(tls.get());
  return tls;
}

// Base64 with line breaks anywhere (RFC 7030 section 4.2.3 sends it so).
Bytes base64_decode(const Bytes& text) {
  std::string compact;
  for (const std::uint8_t c : text) {
    if (!std::isspace(c)) compact.push_back(static_cast<char>(c));
  }
  if (compact.empty() || compact.size() % 4 != 0)
    throw ApiError(ErrorCode::ca_refused, "the EST answer is not base64");
  Bytes out(compact.size() / 4 * 3);
  const int length =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(compact.data()),
                      static_cast<int>(compact.size()));
  if (length < 0) throw ApiError(ErrorCode::ca_refused, "the EST answer is not base64");
  const std::size_t padding = compact.size() - compact.find_last_not_of('=') - 1;
  out.resize(static_cast<std::size_t>(length) - std::min<std::size_t>(padding, 2));
  return out;
}

// The certs-only PKCS#7 of RFC 7030 section 4.2.3: the certificate for the request's key,
// and whatever else came as its chain.
IssuedCertificate issued_from_pkcs7(const Bytes& der, EVP_PKEY* requested_key) {
  const unsigned char* p = der.data();
  const Pkcs7 pkcs7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (!pkcs7 || !PKCS7_type_is_signed(pkcs7.get()) || !pkcs7->d.sign || !pkcs7->d.sign->cert) {
    throw ApiError(ErrorCode::ca_refused, "the EST answer is not a certs-only PKCS#7");
  }
  std::string leaf, chain;
  STACK_OF(X509)* certificates = pkcs7->d.sign->cert;
  for (int i = 0; i < sk_X509_num(certificates); ++i) {
    X509* c = sk_X509_value(certificates, i);
    if (leaf.empty() && EVP_PKEY_eq(X509_get0_pubkey(c), requested_key) == 1)
      leaf = pem_of(c);
    else
      chain += pem_of(c);
  }
  if (leaf.empty())
    throw ApiError(ErrorCode::ca_refused,
                   "the EST answer holds no certificate for the request's key");
  return parse_issued(leaf, chain);
}

[[noreturn]] void refused_or_unreachable(const FetchResult& answer, const HttpUrl& server) {
  const std::string where = server.host + ":" + server.port;
  if (answer.status == 0) throw ApiError(ErrorCode::ca_unreachable, where + ": " + answer.error);
  std::string detail = where + " answered HTTP " + std::to_string(answer.status);
  if (answer.status == 202) detail += " (the CA will issue it later: try again then)";
  // A short plain-text reason from the server says more than its status.
  if (answer.content_type.rfind("text/plain", 0) == 0 && !answer.body.empty()) {
    const std::string reason(
        answer.body.begin(),
        answer.body.begin() + static_cast<long>(std::min<std::size_t>(answer.body.size(), 200)));
    detail += ": " + reason.substr(0, reason.find('\n'));
  }
  throw ApiError(ErrorCode::ca_refused, detail);
}

OperationText enrolment_text(const Renewal& renewal, const HttpUrl& server) {
  return {"renew certificate " + renewal.certificate_id +
              " with your certificate authority's server " + server.host,
          "通过证书颁发机构的服务器 " + server.host + " 更新证书 " + renewal.certificate_id};
}

IssuedCertificate est_simplereenroll(RenewalContext& context, const Renewal& renewal,
                                     HttpUrl server) {
  const RequestPtr request = request_of(renewal);
  const Bytes csr = der_of(request.get());
  if (csr.empty())
    throw ApiError(ErrorCode::internal_error, "the renewal's request cannot be encoded");
  server.target = est_reenroll_target(server.target);
  return through_module([&] {
    TokenSession session(context.work);
    const Bytes id = slot_id(renewal.certificate_id);
    const std::optional<Bytes> current = session.certificate(id);
    if (!current) throw ApiError(ErrorCode::certificate_not_found);
    const X509Ptr certificate = x509_from_der(*current);
    session.log_in(enrolment_text(renewal, server));
    const std::optional<TokenKey> key = find_key(*session, id);
    if (!key || !key->private_key || !certificate)
      throw ApiError(ErrorCode::certificate_mismatch,
                     "slot " + renewal.certificate_id + " holds no key for its certificate");
    const TokenTlsKey tls_key(*session, *key, session.pin());
    const TlsContext tls = client_context(context.trust);  // goes before the key it uses
    if (SSL_CTX_use_certificate(tls.get(), certificate.get()) != 1 ||
        SSL_CTX_use_PrivateKey(tls.get(), tls_key.get()) != 1) {
      throw ApiError(ErrorCode::certificate_mismatch,
                     "the certificate in slot " + renewal.certificate_id + " is not for its key");
    }
    const std::string body = base64(csr);
    // The renewal stays awaiting_certificate across the exchange: a crash before or after it
    // is taken up by the next enrolment, which sends the same request again.
    fault_point("enrolling");
    const FetchResult answer = http_post(
        server, "application/pkcs10", Bytes(body.begin(), body.end()), kEnrolmentLimits, tls.get());
    if (!answer.ok) refused_or_unreachable(answer, server);
    fault_point("enrolling.done");
    return parse_est_answer(answer.body, X509_REQ_get0_pubkey(request.get()));
  });
}

IssuedCertificate post_authorization(RenewalContext& context, const Renewal& renewal,
                                     const HttpUrl& server) {
  const TlsContext tls = client_context(context.trust);
  const std::string body = nlohmann::json{
      {"renewal", renewal.id},
      {"csr", renewal.csr_pem},
      {"authorization",
       renewal.authorization}}.dump();
  const FetchResult answer = http_post(server, "application/json", Bytes(body.begin(), body.end()),
                                       kEnrolmentLimits, tls.get());
  if (!answer.ok) refused_or_unreachable(answer, server);
  return parse_endpoint_answer(answer.body);
}

}  // namespace

// parse_issued's ApiError(bad_request) is the CA's fault here.
IssuedCertificate parse_est_answer(const Bytes& body, EVP_PKEY* requested_key) {
  try {
    return issued_from_pkcs7(base64_decode(body), requested_key);
  } catch (const ApiError& e) {
    if (e.code() == ErrorCode::ca_refused) throw;
    throw ApiError(ErrorCode::ca_refused, std::string("the EST answer: ") + e.what());
  }
}

IssuedCertificate parse_endpoint_answer(const Bytes& body) {
  const nlohmann::json reply = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (!reply.is_object() || !reply.contains("certificate") || !reply["certificate"].is_string()) {
    throw ApiError(ErrorCode::ca_refused, "the CA's answer has no \"certificate\"");
  }
  const std::string chain = reply.contains("chain") && reply["chain"].is_string()
                                ? reply["chain"].get<std::string>()
                                : "";
  try {
    return parse_issued(reply["certificate"].get<std::string>(), chain);
  } catch (const ApiError& e) {
    throw ApiError(ErrorCode::ca_refused, std::string("the CA's answer: ") + e.what());
  }
}

std::string est_reenroll_target(const std::string& base_target) {
  std::string base = base_target.substr(0, base_target.find('?'));
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.empty()) base = "/.well-known/est";
  return base + "/simplereenroll";
}

IssuedCertificate enrol(RenewalContext& context, const Renewal& renewal, const HttpUrl& server,
                        EnrolmentProtocol protocol) {
  if (renewal.state != RenewalState::awaiting_certificate) {
    throw ApiError(ErrorCode::renewal_state_conflict,
                   "the renewal is " + std::string(state_name(renewal.state)));
  }
  return protocol == EnrolmentProtocol::est ? est_simplereenroll(context, renewal, server)
                                            : post_authorization(context, renewal, server);
}

}  // namespace certkey::daemon
