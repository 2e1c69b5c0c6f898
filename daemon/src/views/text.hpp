// Text from outside the daemon (reader names, token labels, certificate fields, error
// details) made safe to show: valid UTF-8, bounded in length. Nothing a token, a reader or
// a certificate contains can then make JSON serialisation throw (DESIGN.md section 6, item 7).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace certkey::daemon {

// `text` as valid UTF-8: every ill-formed sequence (RFC 3629: overlong forms, surrogates,
// code points past U+10FFFF, truncated characters) becomes U+FFFD, and the result is cut
// to at most `max_bytes` on a character boundary.
std::string display_text(std::string_view text, std::size_t max_bytes);

// Serialises a JSON value; any invalid UTF-8 that slipped through is replaced, never thrown.
std::string json_text(const nlohmann::json& value);

}  // namespace certkey::daemon
