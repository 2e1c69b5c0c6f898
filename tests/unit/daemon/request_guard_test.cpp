// The daemon's request guard (daemon/src/net/request_guard.*): DESIGN.md section 6, security
// model items 1-3, one test per rule.
#include "net/request_guard.hpp"

#include <gtest/gtest.h>

namespace certkey::daemon {
namespace {

namespace http = boost::beast::http;

Config config() {
  Config c;
  c.allowed_origins = {*Origin::parse("https://ca.example.cn"),
                       *Origin::parse("http://localhost:8080")};
  return c;
}

GuardVerdict check_request(const Config& c, const HttpRequest& r) {
  return daemon::check_request(c, 18456, r);
}

HttpRequest request(http::verb verb, const std::string& host, const std::string& origin) {
  HttpRequest r{verb, "/v1/tokens", 11};
  if (!host.empty()) r.set(http::field::host, host);
  if (!origin.empty()) r.set(http::field::origin, origin);
  return r;
}

TEST(Origin, ParsesStrictly) {
  auto o = Origin::parse("https://ca.example.cn");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->port, 443u);
  EXPECT_EQ(o->text(), "https://ca.example.cn");
  EXPECT_EQ(Origin::parse("https://ca.example.cn:8443")->text(), "https://ca.example.cn:8443");
  EXPECT_EQ(Origin::parse("https://ca.example.cn:443"), o);  // the default port is the same origin
  EXPECT_EQ(Origin::parse("http://[::1]:8080")->host, "[::1]");
  for (const char* bad :
       {"null", "", "ca.example.cn", "https://", "https://ca.example.cn/",
        "https://ca.example.cn/path", "https://user@ca.example.cn", "https://CA.example.cn",
        "https://ca.example.cn:0", "https://ca.example.cn:99999",
        "https://ca.example.cn:", "ftp://ca.example.cn", "http://ca.example.cn",
        "https://ca.example.cn?x=1", "https://[zz::1]"}) {
    EXPECT_FALSE(Origin::parse(bad)) << bad;
  }
}

TEST(RequestGuard, AllowedOriginOnLoopbackHost_IsLetThroughAndEchoed) {
  for (const char* host : {"127.0.0.1:18456", "localhost:18456", "[::1]:18456"}) {
    GuardVerdict v =
        check_request(config(), request(http::verb::get, host, "https://ca.example.cn"));
    EXPECT_FALSE(v.refusal) << host;
    EXPECT_EQ(v.origin, Origin::parse("https://ca.example.cn"));
  }
  EXPECT_FALSE(
      check_request(config(), request(http::verb::get, "localhost:18456", "http://localhost:8080"))
          .refusal);
}

TEST(RequestGuard, AnotherHost_IsRefused_AgainstDnsRebinding) {
  for (const char* host : {"", "evil.example:18456", "127.0.0.1", "127.0.0.1:80", "localhost:18457",
                           "127.0.0.2:18456"}) {
    GuardVerdict v =
        check_request(config(), request(http::verb::get, host, "https://ca.example.cn"));
    EXPECT_EQ(v.refusal, ErrorCode::bad_host) << host;
    EXPECT_FALSE(v.origin);
  }
}

TEST(RequestGuard, UnknownNullOrMissingOrigin_IsRefusedAndNotEchoed) {
  for (const char* origin :
       {"", "null", "https://evil.example", "https://ca.example.cn.evil.example",
        "http://ca.example.cn", "https://ca.example.cn:8443", "http://localhost:8081"}) {
    GuardVerdict v = check_request(config(), request(http::verb::get, "127.0.0.1:18456", origin));
    EXPECT_EQ(v.refusal, ErrorCode::origin_not_allowed) << origin;
    EXPECT_FALSE(v.origin) << origin;
  }
}

TEST(RequestGuard, DisallowedOrigin_MayReadTheRefusalOfItsGet_Only) {
  // A well-formed origin's GET: the page may read that it is not allowed (the JS client's
  // "origin not allowed"). Its POSTs and preflights, and malformed origins, learn nothing.
  for (const char* origin :
       {"https://evil.example", "https://ca.example.cn:8443", "http://localhost:8081"}) {
    GuardVerdict v = check_request(config(), request(http::verb::get, "127.0.0.1:18456", origin));
    ASSERT_TRUE(v.refused_origin) << origin;
    EXPECT_EQ(v.refused_origin->text(), origin);
    EXPECT_FALSE(check_request(config(), request(http::verb::post, "127.0.0.1:18456", origin))
                     .refused_origin);
    EXPECT_FALSE(check_request(config(), request(http::verb::options, "127.0.0.1:18456", origin))
                     .refused_origin);
  }
  for (const char* origin : {"", "null", "http://ca.example.cn", "https://ca.example.cn/"})
    EXPECT_FALSE(
        check_request(config(), request(http::verb::get, "127.0.0.1:18456", origin)).refused_origin)
        << origin;
  // A wrong Host is refused before the origin is looked at, and unreadably.
  EXPECT_FALSE(check_request(config(),
                             request(http::verb::get, "evil.example:18456", "https://evil.example"))
                   .refused_origin);
}

TEST(RequestGuard, Post_NeedsJsonAndTheRequestHeader) {
  HttpRequest r = request(http::verb::post, "127.0.0.1:18456", "https://ca.example.cn");
  EXPECT_EQ(check_request(config(), r).refusal, ErrorCode::unsupported_media_type);
  r.set(http::field::content_type, "text/plain");  // what a form or a simple fetch can send
  EXPECT_EQ(check_request(config(), r).refusal, ErrorCode::unsupported_media_type);
  r.set(http::field::content_type, "application/json; charset=utf-8");
  EXPECT_EQ(check_request(config(), r).refusal, ErrorCode::missing_request_header);
  r.set(kRequestHeader, "0");
  EXPECT_EQ(check_request(config(), r).refusal, ErrorCode::missing_request_header);
  r.set(kRequestHeader, "1");
  EXPECT_FALSE(check_request(config(), r).refusal);
}

TEST(RequestGuard, Preflight_FromAnAllowedOrigin_IsAnswered_WithLocalNetworkAccess) {
  HttpRequest r = request(http::verb::options, "127.0.0.1:18456", "https://ca.example.cn");
  GuardVerdict v = check_request(config(), r);
  EXPECT_FALSE(v.refusal);
  EXPECT_TRUE(v.preflight);
  EXPECT_FALSE(v.private_network);
  r.set("Access-Control-Request-Private-Network", "true");
  EXPECT_TRUE(check_request(config(), r).private_network);
  EXPECT_EQ(check_request(config(),
                          request(http::verb::options, "127.0.0.1:18456", "https://evil.example"))
                .refusal,
            ErrorCode::origin_not_allowed);
}

}  // namespace
}  // namespace certkey::daemon
