// A web origin as a value (web-eid's validateAndStoreOrigin is the model): parsed strictly,
// compared exactly. Scheme "https", or "http" only for pages served from this machine; a
// lower-case host name, IPv4 address or bracketed IPv6 address; an optional port; no user
// information, path, query or fragment. "null" and anything else are not origins.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace certkey::daemon {

inline constexpr std::size_t kMaxOriginLength = 300;  // bytes of an origin's text

struct Origin {
  std::string scheme;
  std::string host;
  unsigned port = 0;  // the scheme's default when the text names none

  static std::optional<Origin> parse(std::string_view text);
  // As a browser sends it: the default port left out.
  std::string text() const;
  bool operator==(const Origin&) const = default;
};

}  // namespace certkey::daemon
