// libFuzzer target for what certkeyd reads from the network before any token is touched:
// an HTTP request through Beast's parser with the daemon's limits, the request guard
// (Host, Origin, headers), and the strict JSON body checks of the renewal requests.
// Invariants: no crash, no hang; anything refused is refused with an error code.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "api/error_code.hpp"
#include "api/request_body.hpp"
#include "net/http_session.hpp"
#include "net/request_guard.hpp"

using namespace certkey::daemon;
namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Origin::parse(text);

  static const GuardConfig config = [] {
    GuardConfig c;
    c.port = 18456;
    c.allowed_origins = {*Origin::parse("https://ca.example.cn")};
    return c;
  }();
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(kBodyLimit);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(text), ec);
  if (!ec && parser.is_done()) {
    const GuardVerdict verdict = check_request(config, parser.get());
    if (!verdict.refusal && verdict.origin.empty()) __builtin_trap();  // allowed means an origin to echo
    try {
      const nlohmann::json body = parse_object(parser.get().body(), {"token", "certificate"});
      serial_of(body["token"]);
      string_of(body["certificate"], "certificate");
    } catch (const ApiError&) {
    }
  }
  return 0;
}
