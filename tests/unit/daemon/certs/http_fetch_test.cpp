// The bounded HTTP client of the revocation checker (daemon/src/certs/http_fetch.*): which
// URLs it accepts, and that every failure of the other end comes back as an error, within
// the deadline, against a real server on loopback.
#include "certs/http_fetch.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "http_peer.hpp"

namespace certkey::daemon {
namespace {

using test::HttpPeer;
using Reply = HttpPeer::Reply;

std::optional<HttpUrl> parse(std::string_view url) {
  std::string why;
  return parse_http_url(url, why);
}

std::string rejection(std::string_view url) {
  std::string why;
  EXPECT_FALSE(parse_http_url(url, why)) << url;
  return why;
}

TEST(HttpUrl, HostPortAndPath_AreSplit) {
  const std::optional<HttpUrl> url = parse("http://127.0.0.1:8080/ocsp?x=1#frag");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, "8080");
  EXPECT_EQ(url->target, "/ocsp?x=1");
}

TEST(HttpUrl, NoPortOrPath_DefaultsTo80AndSlash) {
  const std::optional<HttpUrl> url = parse("HTTP://ocsp.example.com");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "ocsp.example.com");
  EXPECT_EQ(url->port, "80");
  EXPECT_EQ(url->target, "/");
}

TEST(HttpUrl, BracketedIpv6_IsAHost) {
  const std::optional<HttpUrl> url = parse("http://[::1]:81/crl");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, "81");
  EXPECT_EQ(url->target, "/crl");
}

TEST(HttpUrl, OtherSchemesAndMalformedUrls_AreRefusedWithAReason) {
  EXPECT_NE(rejection("https://ocsp.example.com/").find("https is not supported"),
            std::string::npos);
  EXPECT_NE(rejection("ldap://ldap.example.com/cn=CA?certificateRevocationList").find("ldap"),
            std::string::npos);
  EXPECT_NE(rejection("http://user@example.com/").find("user information"), std::string::npos);
  EXPECT_NE(rejection("http://example.com:0/").find("port"), std::string::npos);
  EXPECT_NE(rejection("http://example.com:65536/").find("port"), std::string::npos);
  EXPECT_NE(rejection("http://example.com:8a/").find("port"), std::string::npos);
  EXPECT_NE(rejection("http:///path").find("no host"), std::string::npos);
  EXPECT_NE(rejection("http://a b/").find("space"), std::string::npos);
  EXPECT_NE(rejection("http://example.com/\r\nX-Injected: 1").find("control"), std::string::npos);
  EXPECT_NE(rejection("example.com/crl").find("absolute"), std::string::npos);
  EXPECT_NE(rejection("http://" + std::string(kMaxFetchUrlLength, 'a')).find("longer"),
            std::string::npos);
}

class HttpFetch : public ::testing::Test {
 protected:
  HttpUrl url(const std::string& target) {
    std::string why;
    std::optional<HttpUrl> parsed = parse_http_url(peer_.url(target), why);
    EXPECT_TRUE(parsed) << why;
    return parsed.value_or(HttpUrl{});
  }

  HttpPeer peer_;
  FetchLimits limits_{std::chrono::milliseconds(300), 1024};
};

TEST_F(HttpFetch, Ok_ReturnsTheBody) {
  peer_.serve("/a", Reply::ok("hello"));
  const FetchResult result = http_get(url("/a"), limits_);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(std::string(result.body.begin(), result.body.end()), "hello");
  EXPECT_EQ(peer_.requests("/a"), 1u);
}

TEST_F(HttpFetch, Post_SendsTheBody) {
  peer_.serve("/p", Reply::ok("answer"));
  const FetchResult result = http_post(url("/p"), "application/ocsp-request", {1, 2, 3}, limits_);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(peer_.requests("/p"), 1u);
}

TEST_F(HttpFetch, ErrorStatus_IsAnError) {
  const FetchResult result = http_get(url("/nothing-here"), limits_);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "HTTP 404");
}

TEST_F(HttpFetch, ResponseOverTheLimit_IsAnError) {
  peer_.serve("/big", Reply::ok(std::string(limits_.max_response_bytes + 1, 'x')));
  const FetchResult result = http_get(url("/big"), limits_);
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("larger than 1024 bytes"), std::string::npos) << result.error;
}

TEST_F(HttpFetch, BodyWithoutLengthOverTheLimit_IsAnError) {
  const std::string body(limits_.max_response_bytes + 1, 'x');
  peer_.serve("/to-eof", Reply::verbatim("HTTP/1.0 200 OK\r\n\r\n" + body));
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  peer_.serve("/chunked", Reply::verbatim("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                          std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n"));
  for (const char* target : {"/to-eof", "/chunked"}) {
    const FetchResult result = http_get(url(target), limits_);
    EXPECT_FALSE(result.ok) << target;
    EXPECT_NE(result.error.find("larger than 1024 bytes"), std::string::npos)
        << target << ": " << result.error;
  }
}

TEST_F(HttpFetch, BodyWithoutLengthWithinTheLimit_IsRead) {
  peer_.serve("/to-eof", Reply::verbatim("HTTP/1.0 200 OK\r\n\r\nall of it"));
  const FetchResult result = http_get(url("/to-eof"), limits_);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(std::string(result.body.begin(), result.body.end()), "all of it");
}

TEST_F(HttpFetch, NoAnswer_TimesOutAtTheDeadline) {
  peer_.serve("/hang", Reply::silence());
  const auto start = std::chrono::steady_clock::now();
  const FetchResult result = http_get(url("/hang"), limits_);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(result.ok);
  EXPECT_NE(result.error.find("timed out"), std::string::npos) << result.error;
  EXPECT_GE(elapsed, limits_.timeout);
  EXPECT_LT(elapsed, std::chrono::seconds(5));  // a bound on a failure, far above the deadline
}

TEST_F(HttpFetch, NobodyListening_IsAnError) {
  // A port that was free a moment ago: this test's own listener, closed.
  unsigned short port = 0;
  {
    HttpPeer closed;
    port = closed.port();
  }
  const HttpUrl gone{"127.0.0.1", std::to_string(port), "/"};
  const FetchResult result = http_get(gone, limits_);
  EXPECT_FALSE(result.ok);
  EXPECT_FALSE(result.error.empty());
}

}  // namespace
}  // namespace certkey::daemon
