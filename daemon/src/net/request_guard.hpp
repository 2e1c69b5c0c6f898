// Who may talk to the daemon, checked on every request before anything else runs (DESIGN.md
// section 6, security model items 1-3): the Host header names this daemon on loopback (no DNS
// rebinding), the Origin is on the allowlist exactly (never "null", plain http only for
// loopback pages), and a state-changing request is JSON with the X-Certkey-Request header,
// which no CORS-simple request can carry. The origin comes from the transport's headers,
// never from a request body.
#pragma once
#include <boost/beast/http.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../api/error_code.hpp"

namespace certkey::daemon {

// A web origin, parsed strictly: scheme "https" (or "http" for loopback hosts), a lower-case
// host name, IPv4 address or bracketed IPv6 address, an optional port; nothing else.
struct Origin {
  std::string scheme;
  std::string host;
  unsigned port = 0;  // the scheme's default when the text names none

  static std::optional<Origin> parse(std::string_view text);
  std::string text() const;
  bool operator==(const Origin&) const = default;
};

struct GuardConfig {
  unsigned port = 0;  // the daemon's port, which the Host header must name
  std::vector<Origin> allowed_origins;
};

inline constexpr char kRequestHeader[] = "X-Certkey-Request";

struct GuardVerdict {
  std::optional<ErrorCode> refusal;  // set: answer with this error
  std::string origin;                // the allowed origin, echoed in CORS headers; empty if none
  bool preflight = false;            // an allowed CORS preflight: answer 204 with the CORS headers
  bool private_network = false;      // the preflight asked for Chrome's Local Network Access
};

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

GuardVerdict check_request(const GuardConfig& config, const HttpRequest& request);

}  // namespace certkey::daemon
