#include "http_routes.hpp"

#include <array>
#include <boost/beast/websocket/rfc6455.hpp>
#include <vector>

namespace certkey::daemon {
namespace http = boost::beast::http;
namespace {

constexpr std::size_t kMaxPathArgument = 64;

struct RouteSpec {
  http::verb method;
  std::string_view pattern;  // "{name}" matches one path segment
  std::string_view command;
  bool websocket;
};

constexpr std::array<RouteSpec, 16> kRoutes = {{
    {http::verb::get, "/v1/tokens", "listTokens", false},
    {http::verb::get, "/v1/events", "watchEvents", true},
    {http::verb::post, "/v1/renewals", "beginRenewal", false},
    {http::verb::get, "/v1/renewals/{id}", "getRenewal", false},
    {http::verb::get, "/v1/renewals", "listRenewals", false},
    {http::verb::post, "/v1/renewals/{id}/complete", "completeRenewal", false},
    {http::verb::post, "/v1/renewals/{id}/enroll", "enrollRenewal", false},
    {http::verb::post, "/v1/renewals/{id}/cancel", "cancelRenewal", false},
    {http::verb::post, "/v1/certificates/change", "changeCertificate", false},
    {http::verb::post, "/v1/certificates/revoke", "revokeCertificate", false},
    {http::verb::post, "/v1/pin/change", "changePin", false},
    {http::verb::post, "/v1/pin/unblock", "unblockPin", false},
    {http::verb::post, "/v1/pin/remote-unlock", "beginRemoteUnlock", false},
    {http::verb::post, "/v1/pin/remote-unlock/response", "completeRemoteUnlock", false},
    {http::verb::get, "/v1/diagnosis", "diagnose", false},
    {http::verb::get, "/v1/certificates", "queryCertificates", false},
}};

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() != '/') return {};
    path.remove_prefix(1);
    const std::size_t end = path.find('/');
    out.push_back(path.substr(0, end));
    path = end == std::string_view::npos ? std::string_view{} : path.substr(end);
  }
  return out;
}

// The path arguments when `path` matches `pattern`.
std::optional<nlohmann::json> match(std::string_view pattern, std::string_view path) {
  const std::vector<std::string_view> want = segments(pattern), got = segments(path);
  if (got.empty() || want.size() != got.size()) return std::nullopt;
  nlohmann::json args = nlohmann::json::object();
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i].size() > 2 && want[i].front() == '{') {
      if (got[i].empty() || got[i].size() > kMaxPathArgument) return std::nullopt;
      args[std::string(want[i].substr(1, want[i].size() - 2))] = std::string(got[i]);
    } else if (want[i] != got[i]) {
      return std::nullopt;
    }
  }
  return args;
}

}  // namespace

RouteOutcome route_http(http::verb method, std::string_view path) {
  RouteOutcome outcome;
  if (path.size() > kMaxTarget) {
    outcome.error = ErrorCode::uri_too_long;
    return outcome;
  }
  for (const RouteSpec& spec : kRoutes) {
    std::optional<nlohmann::json> args = match(spec.pattern, path);
    if (!args) continue;
    if (spec.method == method) {
      RouteOutcome found;  // another method's spec for this path may have come first
      found.route = HttpRoute{std::string(spec.command), std::move(*args), spec.websocket};
      return found;
    }
    outcome.error = ErrorCode::method_not_allowed;
    outcome.allow += std::string(http::to_string(spec.method)) + ", ";
  }
  if (!outcome.allow.empty()) outcome.allow += "OPTIONS";
  return outcome;
}

std::string routed_methods() { return "GET, POST"; }

nlohmann::json request_args(const HttpRoute& route, std::string_view body) {
  nlohmann::json args = nlohmann::json::object();
  if (!body.empty()) {
    args = nlohmann::json::parse(body, nullptr, false);
    if (args.is_discarded() || !args.is_object())
      throw ApiError(ErrorCode::bad_request, "the body is not a JSON object");
  }
  for (const auto& [name, value] : route.path_args.items()) {
    if (args.contains(name))
      throw ApiError(ErrorCode::bad_request, "\"" + name + "\" belongs in the path");
    args[name] = value;
  }
  return args;
}

HttpDecision decide(const Config& config, unsigned port, const HttpRequest& request, bool foreign) {
  HttpDecision d;
  const std::string_view target(request.target().data(), request.target().size());
  auto refuse = [&](ErrorCode code, bool close) {
    d.error = code;
    d.close = close;
    return d;
  };
  if (foreign) return refuse(ErrorCode::foreign_user, true);
  if (target.size() > kMaxTarget) return refuse(ErrorCode::uri_too_long, true);
  const GuardVerdict verdict = check_request(config, port, request);
  if (verdict.refusal) {
    d.origin = verdict.refused_origin;
    return refuse(*verdict.refusal, true);
  }
  d.origin = verdict.origin;
  if (verdict.preflight) {
    d.action = HttpDecision::Action::answer_preflight;
    d.private_network = verdict.private_network;
    return d;
  }
  const RouteOutcome route = route_http(request.method(), target.substr(0, target.find('?')));
  if (!route.route) {
    d.allow = route.allow;
    return refuse(route.error, false);
  }
  if (route.route->websocket) {
    if (boost::beast::websocket::is_upgrade(request)) d.action = HttpDecision::Action::upgrade;
    return d.action == HttpDecision::Action::upgrade ? d
                                                     : refuse(ErrorCode::upgrade_required, false);
  }
  try {
    d.args = request_args(*route.route, request.body());
  } catch (const ApiError& e) {
    d.detail = e.what();
    return refuse(e.code(), false);
  }
  d.action = HttpDecision::Action::run_command;
  d.command = route.route->command;
  return d;
}

}  // namespace certkey::daemon
