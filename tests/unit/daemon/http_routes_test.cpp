// The HTTP API's routes (daemon/src/net/http_routes.*): each path of
// daemon/openapi/certkey-v1.json maps to its operationId, with its path arguments; wrong
// methods, unknown and over-long paths are refused; the body's members join the path's; and
// a whole request becomes what the session does with it (decide), without a socket.
#include "net/http_routes.hpp"

#include <gtest/gtest.h>

namespace certkey::daemon {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;

const std::string kId = "0123456789abcdef0123456789abcdef";

HttpRoute route_of(http::verb method, std::string_view path) {
  RouteOutcome outcome = route_http(method, path);
  EXPECT_TRUE(outcome.route) << path;
  return outcome.route.value_or(HttpRoute{});
}

ErrorCode error_of(http::verb method, std::string_view path) {
  const RouteOutcome outcome = route_http(method, path);
  EXPECT_FALSE(outcome.route) << path;
  return outcome.error;
}

TEST(HttpRoutes, EveryDocumentedPath_NamesItsCommand) {
  const HttpRoute tokens = route_of(http::verb::get, "/v1/tokens");
  EXPECT_EQ(tokens.command, "listTokens");
  EXPECT_EQ(tokens.path_args, json::object());
  EXPECT_FALSE(tokens.websocket);

  const HttpRoute events = route_of(http::verb::get, "/v1/events");
  EXPECT_EQ(events.command, "watchEvents");
  EXPECT_TRUE(events.websocket);

  const HttpRoute begin = route_of(http::verb::post, "/v1/renewals");
  EXPECT_EQ(begin.command, "beginRenewal");
  EXPECT_EQ(begin.path_args, json::object());
  EXPECT_FALSE(begin.websocket);
}

TEST(HttpRoutes, RenewalPaths_CarryTheIdAsAPathArgument) {
  const HttpRoute get = route_of(http::verb::get, "/v1/renewals/" + kId);
  EXPECT_EQ(get.command, "getRenewal");
  EXPECT_EQ(get.path_args, json({{"id", kId}}));

  const HttpRoute complete = route_of(http::verb::post, "/v1/renewals/" + kId + "/complete");
  EXPECT_EQ(complete.command, "completeRenewal");
  EXPECT_EQ(complete.path_args, json({{"id", kId}}));
}

TEST(HttpRoutes, WrongMethod_IsMethodNotAllowed_WithThePathsMethods) {
  RouteOutcome outcome = route_http(http::verb::post, "/v1/tokens");
  EXPECT_FALSE(outcome.route);
  EXPECT_EQ(outcome.error, ErrorCode::method_not_allowed);
  EXPECT_EQ(outcome.allow, "GET, OPTIONS");

  outcome = route_http(http::verb::put, "/v1/renewals");
  EXPECT_EQ(outcome.error, ErrorCode::method_not_allowed);
  EXPECT_EQ(outcome.allow, "POST, GET, OPTIONS");

  EXPECT_EQ(route_of(http::verb::get, "/v1/renewals").command, "listRenewals");
  EXPECT_EQ(route_of(http::verb::post, "/v1/renewals").command, "beginRenewal");

  outcome = route_http(http::verb::delete_, "/v1/renewals/" + kId);
  EXPECT_EQ(outcome.error, ErrorCode::method_not_allowed);
  EXPECT_EQ(outcome.allow, "GET, OPTIONS");
}

TEST(HttpRoutes, UnknownPath_IsNotFound) {
  for (const char* path : {"", "/", "/v1", "/v2/tokens", "/v1/tokens/", "/v1//tokens", "v1/tokens",
                           "/v1/renewals/", "/v1/renewals/x/abandon", "/V1/tokens"}) {
    EXPECT_EQ(error_of(http::verb::get, path), ErrorCode::not_found) << path;
    EXPECT_TRUE(route_http(http::verb::get, path).allow.empty()) << path;
  }
}

TEST(HttpRoutes, TargetOverTheLimit_IsUriTooLong) {
  const std::string path = "/v1/renewals/" + std::string(kMaxTarget, 'a');
  EXPECT_EQ(error_of(http::verb::get, path), ErrorCode::uri_too_long);
  EXPECT_EQ(error_of(http::verb::get, "/v1/tokens" + std::string(kMaxTarget, '/')),
            ErrorCode::uri_too_long);
}

TEST(HttpRoutes, PathSegmentOver64Bytes_IsNotMatched) {
  EXPECT_EQ(route_of(http::verb::get, "/v1/renewals/" + std::string(64, 'a')).command,
            "getRenewal");
  EXPECT_EQ(error_of(http::verb::get, "/v1/renewals/" + std::string(65, 'a')),
            ErrorCode::not_found);
}

TEST(HttpRoutes, RoutedMethods_AreGetAndPost) { EXPECT_EQ(routed_methods(), "GET, POST"); }

TEST(RequestArgs, EmptyBody_IsThePathArguments) {
  EXPECT_EQ(request_args(route_of(http::verb::get, "/v1/tokens"), ""), json::object());
  EXPECT_EQ(request_args(route_of(http::verb::get, "/v1/renewals/" + kId), ""),
            json({{"id", kId}}));
}

TEST(RequestArgs, BodyObject_JoinsThePathArguments) {
  const HttpRoute complete = route_of(http::verb::post, "/v1/renewals/" + kId + "/complete");
  EXPECT_EQ(request_args(complete, R"({"certificate": "PEM"})"),
            json({{"id", kId}, {"certificate", "PEM"}}));
  const HttpRoute begin = route_of(http::verb::post, "/v1/renewals");
  EXPECT_EQ(request_args(begin, R"({"token": 7, "certificate": "01"})"),
            json::parse(R"({"token": 7, "certificate": "01"})"));
}

TEST(RequestArgs, BodyThatIsNotAJsonObject_IsBadRequest) {
  const HttpRoute begin = route_of(http::verb::post, "/v1/renewals");
  for (const char* body : {"[]", "1", "\"text\"", "null", "{", "{\"a\":1}x", "\xFF"}) {
    try {
      request_args(begin, body);
      ADD_FAILURE() << body;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.code(), ErrorCode::bad_request) << body;
    }
  }
}

TEST(RequestArgs, BodyRepeatingAPathArgument_IsBadRequest) {
  const HttpRoute complete = route_of(http::verb::post, "/v1/renewals/" + kId + "/complete");
  try {
    request_args(complete, R"({"id": "ffffffffffffffffffffffffffffffff", "certificate": "PEM"})");
    ADD_FAILURE() << "a body's \"id\" was taken";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), ErrorCode::bad_request);
    EXPECT_NE(std::string(e.what()).find("\"id\""), std::string::npos) << e.what();
  }
}

// ---- decide: a request, after the guard, to the session's action -----------------------

Config allowing_portal() {
  Config c;
  c.allowed_origins = {*Origin::parse("https://portal.example")};
  return c;
}

HttpRequest request(http::verb method, const std::string& target, const std::string& body = {}) {
  HttpRequest r{method, target, 11};
  r.set(http::field::host, "127.0.0.1:18456");
  r.set(http::field::origin, "https://portal.example");
  if (method != http::verb::get && method != http::verb::options) {
    r.set(http::field::content_type, "application/json");
    r.set(kRequestHeader, "1");
  }
  r.body() = body;
  return r;
}

TEST(Decide, GoodRequest_RunsItsCommand_WithBodyAndPathArguments_ForTheOrigin) {
  const HttpDecision d = decide(
      allowing_portal(), 18456,
      request(http::verb::post, "/v1/renewals/" + kId + "/complete?x=1", R"({"certificate":"P"})"),
      false);
  EXPECT_EQ(d.action, HttpDecision::Action::run_command);
  EXPECT_EQ(d.command, "completeRenewal");
  EXPECT_EQ(d.args, json({{"id", kId}, {"certificate", "P"}}));
  EXPECT_EQ(d.origin, Origin::parse("https://portal.example"));
}

TEST(Decide, ForeignPeerOrGuardRefusal_IsAnsweredAndClosed_WithoutAnOriginToEcho) {
  HttpDecision d = decide(allowing_portal(), 18456, request(http::verb::get, "/v1/tokens"), true);
  EXPECT_EQ(d.action, HttpDecision::Action::answer_error);
  EXPECT_EQ(d.error, ErrorCode::foreign_user);
  EXPECT_TRUE(d.close);
  EXPECT_FALSE(d.origin);
  d = decide(allowing_portal(), 18457, request(http::verb::get, "/v1/tokens"), false);
  EXPECT_EQ(d.error, ErrorCode::bad_host);
  EXPECT_TRUE(d.close);
  EXPECT_FALSE(d.origin);
  d = decide(allowing_portal(), 18456,
             request(http::verb::get, "/v1/" + std::string(kMaxTarget, 'a')), false);
  EXPECT_EQ(d.error, ErrorCode::uri_too_long);
}

TEST(Decide, RoutingErrors_KeepTheConnection_AndEchoTheOrigin) {
  HttpDecision d =
      decide(allowing_portal(), 18456, request(http::verb::delete_, "/v1/tokens"), false);
  EXPECT_EQ(d.error, ErrorCode::method_not_allowed);
  EXPECT_EQ(d.allow, "GET, OPTIONS");
  EXPECT_FALSE(d.close);
  EXPECT_TRUE(d.origin);
  d = decide(allowing_portal(), 18456, request(http::verb::post, "/v1/renewals", "[1]"), false);
  EXPECT_EQ(d.error, ErrorCode::bad_request);
  EXPECT_FALSE(d.detail.empty());
}

TEST(Decide, Events_AreAWebSocketUpgrade_OrUpgradeRequired) {
  HttpRequest r = request(http::verb::get, "/v1/events");
  EXPECT_EQ(decide(allowing_portal(), 18456, r, false).error, ErrorCode::upgrade_required);
  r.set(http::field::connection, "Upgrade");
  r.set(http::field::upgrade, "websocket");
  r.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  r.set(http::field::sec_websocket_version, "13");
  EXPECT_EQ(decide(allowing_portal(), 18456, r, false).action, HttpDecision::Action::upgrade);
}

TEST(Decide, PreflightFromAnAllowedOrigin_IsAnswered) {
  HttpRequest r = request(http::verb::options, "/v1/renewals");
  r.set("Access-Control-Request-Private-Network", "true");
  const HttpDecision d = decide(allowing_portal(), 18456, r, false);
  EXPECT_EQ(d.action, HttpDecision::Action::answer_preflight);
  EXPECT_TRUE(d.private_network);
}

}  // namespace
}  // namespace certkey::daemon
