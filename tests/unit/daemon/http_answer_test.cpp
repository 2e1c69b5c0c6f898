// The bytes of an HTTP answer (daemon/src/net/http_answer.*): what every answer carries, CORS
// only for an allowed origin and never "*", and a body that a standard parser reads back.
#include "net/http_answer.hpp"

#include <gtest/gtest.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace certkey::daemon {
namespace {

namespace http = boost::beast::http;

http::response<http::string_body> parsed(const std::string& bytes) {
  http::response_parser<http::string_body> parser;
  boost::beast::error_code ec;
  parser.eager(true);
  parser.put(boost::asio::buffer(bytes), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_done());
  return parser.release();
}

TEST(HttpAnswer, JsonAnswer_CarriesItsHeadersAndBody) {
  const std::string body = R"({"tokens":[]})";
  HttpAnswer a;
  a.body = &body;
  a.cors_origin = "https://portal.example";
  const auto r = parsed(serialize(a));
  EXPECT_EQ(r.result_int(), 200u);
  EXPECT_EQ(r.body(), body);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(r[http::field::cache_control], "no-store");
  EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(r[http::field::access_control_allow_origin], "https://portal.example");
  EXPECT_EQ(r[http::field::vary], "Origin");
  EXPECT_TRUE(r.keep_alive());
}

TEST(HttpAnswer, WithoutAnOrigin_NoCorsHeaders_AndCloseIsSaid) {
  const std::string body = "{}";
  HttpAnswer a;
  a.status = 403;
  a.body = &body;
  a.keep_alive = false;
  const auto r = parsed(serialize(a));
  EXPECT_EQ(r.result_int(), 403u);
  EXPECT_EQ(r.count(http::field::access_control_allow_origin), 0u);
  EXPECT_FALSE(r.keep_alive());
}

TEST(HttpAnswer, NoBody_HasLengthZero_AndExtraHeaders) {
  HttpAnswer a;
  a.status = 204;
  a.headers = {{"Access-Control-Max-Age", "600"}};
  const auto r = parsed(serialize(a));
  EXPECT_EQ(r.result_int(), 204u);
  EXPECT_EQ(r[http::field::access_control_max_age], "600");
  EXPECT_EQ(r.count(http::field::content_type), 0u);
}

}  // namespace
}  // namespace certkey::daemon
