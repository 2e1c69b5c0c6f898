// A renewal's request sent to the CA's server, for CAs without a web page (docs/daemon.md,
// "Renewal through the CA's server"). Two ways:
//  - EST simplereenroll (RFC 7030 section 4.2.2): the request, base64 DER, over TLS that
//    authenticates with the certificate being renewed, its key signing on the token;
//  - a CA endpoint that takes the request with its authorization (the renewal JWS) as JSON
//    and answers with the certificate.
// Either gives the certificate the CA issued; the caller completes the renewal with it, so
// the whole renewal stays one crash-consistent state machine. The CA's server must chain to
// the configured trust anchors.
#pragma once
#include "../certs/http_fetch.hpp"
#include "renewal.hpp"

namespace certkey::daemon {

enum class EnrolmentProtocol { est, authorization };

// The renewal must await its certificate. Throws ApiError: ca_unreachable (no answer, TLS
// failed), ca_refused (the CA answered without a certificate), and the token's errors.
IssuedCertificate enrol(RenewalContext& context, const Renewal& renewal, const HttpUrl& server,
                        EnrolmentProtocol protocol);

// The server's answer, parsed and bounded (fuzzed: tests/fuzz/ca_answer_fuzzer.cpp). EST's is
// base64 of a certs-only PKCS#7 (RFC 7030 section 4.2.3), whose certificate for
// `requested_key` is the new one and the rest its chain; the endpoint's is JSON
// {"certificate": PEM[, "chain": PEM]}. Throws ApiError(ca_refused).
IssuedCertificate parse_est_answer(const std::vector<std::uint8_t>& body, EVP_PKEY* requested_key);
IssuedCertificate parse_endpoint_answer(const std::vector<std::uint8_t>& body);

// EST's path for a base URL ("https://ca/.well-known/est" or "https://ca/.well-known/est/label";
// a bare host means the first): the simplereenroll target.
std::string est_reenroll_target(const std::string& base_target);

}  // namespace certkey::daemon
