// Who may talk to the daemon over HTTP, checked on every request and WebSocket handshake
// before anything else runs (DESIGN.md section 6, security model items 1-3): the Host header
// names this daemon on loopback (no DNS rebinding); the Origin is on the allowlist exactly
// (never "null", plain http only for loopback pages); and every method but GET and OPTIONS
// is JSON with the X-Certkey-Request header, which no CORS-simple request or HTML form can
// carry. The origin comes from the transport's headers, never from a request body.
#pragma once
#include <boost/beast/http.hpp>
#include <optional>
#include <string>

#include "../config/config.hpp"
#include "../core/error_code.hpp"
#include "../core/origin.hpp"

namespace certkey::daemon {

inline constexpr char kRequestHeader[] = "X-Certkey-Request";

struct GuardVerdict {
  std::optional<ErrorCode> refusal;  // set: answer with this error, without CORS headers...
  // ...except that a page on a well-formed origin that is not allowed may read the refusal of
  // its GET: the JS client tells "origin not allowed" from "not running" by it. It learns
  // that certkey is installed, and nothing else (docs/daemon.md, "Origins").
  std::optional<Origin> refused_origin;
  std::optional<Origin> origin;  // the allowed origin, echoed in CORS headers
  bool preflight = false;        // an allowed CORS preflight: answer 204 with the CORS headers
  bool private_network = false;  // the preflight carried Access-Control-Request-Private-Network
};

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

// `port` is the one the request arrived on, which the Host header must name.
GuardVerdict check_request(const Config& config, unsigned port, const HttpRequest& request);

}  // namespace certkey::daemon
