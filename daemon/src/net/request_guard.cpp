#include "request_guard.hpp"

namespace certkey::daemon {
namespace http = boost::beast::http;
namespace {

std::string_view view(boost::beast::string_view text) { return {text.data(), text.size()}; }

}  // namespace

GuardVerdict check_request(const Config& config, unsigned port, const HttpRequest& request) {
  GuardVerdict verdict;
  // 1. The Host header names this daemon, on loopback: a page whose name was rebound to
  //    127.0.0.1 still sends its own name here.
  const std::string_view host = view(request[http::field::host]);
  const std::string suffix = ":" + std::to_string(port);
  if (host != "127.0.0.1" + suffix && host != "localhost" + suffix && host != "[::1]" + suffix) {
    verdict.refusal = ErrorCode::bad_host;
    return verdict;
  }
  // 2. The origin is on the allowlist, exactly. Requests without one (no browser sends
  //    those to another origin) and "null" are refused like any other unknown origin.
  const std::optional<Origin> origin = Origin::parse(view(request[http::field::origin]));
  if (!origin || !config.allows(*origin)) {
    verdict.refusal = ErrorCode::origin_not_allowed;
    if (origin && request.method() == http::verb::get) verdict.refused_origin = origin;
    return verdict;
  }
  verdict.origin = origin;
  if (request.method() == http::verb::options) {
    verdict.preflight = true;
    verdict.private_network = request["Access-Control-Request-Private-Network"] == "true";
    return verdict;
  }
  // 3. Anything that may change state must be a request no plain form or CORS-simple fetch
  //    can make: JSON, with the custom header.
  if (request.method() != http::verb::get) {
    const std::string_view type = view(request[http::field::content_type]);
    if (type != "application/json" && type.substr(0, 17) != "application/json;") {
      verdict.refusal = ErrorCode::unsupported_media_type;
    } else if (request[kRequestHeader] != "1") {
      verdict.refusal = ErrorCode::missing_request_header;
    }
  }
  return verdict;
}

}  // namespace certkey::daemon
