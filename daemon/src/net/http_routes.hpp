// The HTTP API's paths (daemon/openapi/certkey-v1.json) as a pure function from a method and
// a path to a command and its path arguments; the body's members join them. Tested without
// sockets (tests/unit/daemon/http_routes_test.cpp).
#pragma once
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "../core/error_code.hpp"

namespace certkey::daemon {

inline constexpr std::size_t kMaxTarget = 2048;  // longer request targets: 414

struct HttpRoute {
  std::string command;  // the operationId
  nlohmann::json path_args = nlohmann::json::object();
  bool websocket = false;  // only as a WebSocket upgrade (GET /v1/events)
};

struct RouteOutcome {
  std::optional<HttpRoute> route;
  ErrorCode error = ErrorCode::not_found;  // when there is no route
  std::string allow;  // for 405: the path's methods, e.g. "GET, OPTIONS"
};

// `path` is the request target without its query.
RouteOutcome route_http(boost::beast::http::verb method, std::string_view path);
// The methods any route takes, for CORS preflights: "GET, POST".
std::string routed_methods();

// The command's arguments: the body's JSON object (an empty body is {}), with the path
// arguments added; a body that repeats a path argument is refused. Throws ApiError.
nlohmann::json request_args(const HttpRoute& route, std::string_view body);

}  // namespace certkey::daemon
