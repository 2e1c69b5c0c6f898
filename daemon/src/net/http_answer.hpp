// The bytes of one HTTP/1.1 answer, written directly rather than through Beast's response
// serializer: certkeyd's answers are small and few in kind, and the common one (the token
// list) is the same bytes for as long as the snapshot and the origin are the same, so a
// session serialises it once and writes that buffer again (bench/daemon).
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certkey::daemon {

struct HttpAnswer {
  unsigned status = 200;
  const std::string* body = nullptr;  // JSON; none for 204
  std::string_view cors_origin;       // echoed in Access-Control-Allow-Origin when set
  bool keep_alive = true;
  std::vector<std::pair<std::string_view, std::string>> headers;  // more: Allow, Retry-After, ...
};

std::string serialize(const HttpAnswer& answer);

}  // namespace certkey::daemon
