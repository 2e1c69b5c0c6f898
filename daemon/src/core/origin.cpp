#include "origin.hpp"

#include <algorithm>
#include <cctype>

namespace certkey::daemon {
namespace {

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

bool valid_host_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.front() == '[') {  // IPv6: hex digits and colons (and dots for a mapped IPv4)
    return host.size() > 2 && host.back() == ']' &&
           std::all_of(host.begin() + 1, host.end() - 1, [](char c) {
             return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
           });
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

}  // namespace

std::optional<Origin> Origin::parse(std::string_view text) {
  if (text.size() > kMaxOriginLength) return std::nullopt;
  Origin o;
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  o.scheme = std::string(text.substr(0, scheme_end));
  if (o.scheme != "https" && o.scheme != "http") return std::nullopt;
  std::string_view rest = text.substr(scheme_end + 3);
  // The port is after the last ':' that follows the host (an IPv6 host has its own colons).
  const auto bracket = rest.rfind(']');
  const auto colon = rest.rfind(':');
  std::string_view host = rest;
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    const std::string_view port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    o.port = static_cast<unsigned>(std::stoul(std::string(port)));
    if (o.port == 0 || o.port > 65535) return std::nullopt;
    host = rest.substr(0, colon);
  } else {
    o.port = o.scheme == "https" ? 443 : 80;
  }
  if (!valid_host_name(host)) return std::nullopt;  // also refuses paths, queries, user info
  o.host = std::string(host);
  // Plain http only for pages served from this machine (a developer's portal).
  if (o.scheme == "http" && !is_loopback_host(o.host)) return std::nullopt;
  return o;
}

std::string Origin::text() const {
  const bool default_port = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return scheme + "://" + host + (default_port ? "" : ":" + std::to_string(port));
}

}  // namespace certkey::daemon
