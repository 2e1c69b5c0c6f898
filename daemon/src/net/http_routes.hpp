// The HTTP transport as pure functions, tested without sockets (tests/unit/daemon/
// http_routes_test.cpp): the API's paths (daemon/openapi/certkey-v1.json) from a method and a
// path to a command and its path arguments, and a whole request, after the guard, to what
// the session does with it: answer an error, answer a preflight, upgrade to a WebSocket, or
// run a command with its arguments for the caller's origin.
#pragma once
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "../config/config.hpp"
#include "../core/error_code.hpp"
#include "../core/origin.hpp"
#include "request_guard.hpp"

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
  std::string allow;                       // for 405: the path's methods, e.g. "GET, OPTIONS"
};

// `path` is the request target without its query.
RouteOutcome route_http(boost::beast::http::verb method, std::string_view path);
// The methods any route takes, for CORS preflights: "GET, POST".
std::string routed_methods();

// The command's arguments: the body's JSON object (an empty body is {}), with the path
// arguments added; a body that repeats a path argument is refused. Throws ApiError.
nlohmann::json request_args(const HttpRoute& route, std::string_view body);

// What HttpSession does with one parsed request.
struct HttpDecision {
  enum class Action { answer_error, answer_preflight, run_command, upgrade };
  Action action = Action::answer_error;
  ErrorCode error = ErrorCode::internal_error;  // answer_error
  std::string detail;
  bool close = false;            // answer_error: and close the connection (guard refusals)
  std::string allow;             // answer_error 405: the path's methods
  std::optional<Origin> origin;  // echoed in CORS headers: the caller's allowed origin, or one
                                 // that may read its refusal (request_guard.hpp)
  bool private_network = false;  // answer_preflight: it asked for Private Network Access
  std::string command;           // run_command
  nlohmann::json args;
};

// `port`: the one the request came to; `foreign`: the peer socket is another user's.
HttpDecision decide(const Config& config, unsigned port, const HttpRequest& request, bool foreign);

}  // namespace certkey::daemon
