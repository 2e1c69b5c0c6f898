// A small, bounded HTTP/1.1 client: one request per connection, one deadline for the whole
// exchange, a cap on the response. Plain http for OCSP requests (RFC 6960 Appendix A.1) and
// CRL downloads (RFC 5280 §4.2.1.13), whose payloads are signed objects the caller verifies;
// https, with a TLS context the caller configures, for enrolment with a CA (EST, RFC 7030).
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace certkey::daemon {

inline constexpr std::size_t kMaxFetchUrlLength = 2048;

struct HttpUrl {
  std::string host;    // a name, an IPv4 address, or an IPv6 address without brackets
  std::string port;    // "80" when the URL names none
  std::string target;  // path and query, "/" at least
  bool tls = false;    // https
};

// "http://host[:port][/path][?query]"; the scheme is case-insensitive, a fragment is dropped.
// On failure `why` says what is wrong ("https is not supported", "user information", ...).
std::optional<HttpUrl> parse_http_url(std::string_view url, std::string& why);
// "https://host[:port][/path][?query]" (port 443 by default); plain http is refused.
std::optional<HttpUrl> parse_https_url(std::string_view url, std::string& why);

struct FetchLimits {
  std::chrono::milliseconds timeout{3000};  // name lookup, connect, request and response together
  std::size_t max_response_bytes = 1024 * 1024;
};

struct FetchResult {
  bool ok = false;      // a 200 response, read whole within the limits
  unsigned status = 0;  // the response's status, when one came
  std::string content_type;
  std::vector<std::uint8_t> body;
  std::string error;  // when not ok: "connection refused", "timed out", "HTTP 404", ...
};

// Neither throws for network or protocol failures: they come back as `error`. An https URL
// needs `tls`, a client context whose verification settings the caller made; the server's
// name is checked against its certificate and sent as SNI.
FetchResult http_get(const HttpUrl& url, const FetchLimits& limits);
FetchResult http_post(const HttpUrl& url, std::string_view content_type,
                      const std::vector<std::uint8_t>& body, const FetchLimits& limits,
                      ssl_ctx_st* tls = nullptr);

}  // namespace certkey::daemon
