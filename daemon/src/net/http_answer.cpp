#include "http_answer.hpp"

#include <ostream>  // boost/utility/string_view needs it complete

#include <boost/beast/http/status.hpp>

namespace certkey::daemon {

std::string serialize(const HttpAnswer& a) {
  const auto reason =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(a.status));
  std::string out;
  out.reserve(256 + (a.body ? a.body->size() : 0));
  out.append("HTTP/1.1 ")
      .append(std::to_string(a.status))
      .append(" ")
      .append(reason.data(), reason.size());
  out.append(
      "\r\nServer: certkeyd\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
  // CORS headers only for an allowed origin, and never "*": other origins learn nothing.
  if (!a.cors_origin.empty())
    out.append("Access-Control-Allow-Origin: ")
        .append(a.cors_origin)
        .append("\r\nVary: Origin\r\n");
  for (const auto& [name, value] : a.headers)
    out.append(name).append(": ").append(value).append("\r\n");
  if (a.body) out.append("Content-Type: application/json\r\n");
  out.append("Content-Length: ").append(std::to_string(a.body ? a.body->size() : 0)).append("\r\n");
  if (!a.keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
  if (a.body) out.append(*a.body);
  return out;
}

}  // namespace certkey::daemon
