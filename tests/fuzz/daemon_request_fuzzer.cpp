// libFuzzer target for certkeyd's HTTP request path up to the command core, as
// net/http_session.cpp runs it: Beast's parser with the daemon's header and body limits, the
// request guard, the router, the merging of body and path arguments, and every command's
// argument parser. Then the same input, line by line, stands in for what a token, a reader or
// a certificate may hold, through the JSON views, the error body and the PIN prompt's text
// (DESIGN.md section 6, security model items 3 and 7).
// Invariants: no crash, no hang, nothing but ApiError escapes; an allowed request has its
// allowlisted origin; every route names a command of the table; outside text comes out as
// valid UTF-8 within its bound, and draws no lines of its own into the PIN prompt.
#include <algorithm>
#include <boost/beast/http.hpp>
#include <vector>

#include "core/command.hpp"
#include "net/http_routes.hpp"
#include "net/http_session.hpp"
#include "net/request_guard.hpp"
#include "views/json_views.hpp"
#include "views/text.hpp"
#include "workflows/pin_prompt.hpp"

using namespace certkey::daemon;
namespace http = boost::beast::http;

namespace {

constexpr unsigned kPort = 18456;

const Config& config() {
  static const Config c = [] {
    Config made;
    made.port = kPort;
    made.allowed_origins = {*Origin::parse("https://ca.example.cn")};
    return made;
  }();
  return c;
}

// Serialising strictly throws on invalid UTF-8: the views must never hand it any.
std::string strict_dump(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {
    __builtin_trap();
  }
}

// The session's own decision (decide), with the invariants of each outcome, then the
// command's argument parser as the core would run it.
void route_and_parse(const HttpRequest& request) {
  for (const bool foreign : {true, false}) {
    const HttpDecision d = decide(config(), kPort, request, foreign);
    if (foreign &&
        (d.action != HttpDecision::Action::answer_error || d.error != ErrorCode::foreign_user)) {
      __builtin_trap();
    }
    if (d.action != HttpDecision::Action::answer_error &&
        (!d.origin || !config().allows(*d.origin)))
      __builtin_trap();
    if (d.error == ErrorCode::method_not_allowed && d.allow.empty()) __builtin_trap();
    if (d.action == HttpDecision::Action::answer_error) strict_dump(error_body(d.error, d.detail));
    if (d.action != HttpDecision::Action::run_command) continue;
    const CommandSpec* spec = find_command(d.command);
    if (!spec) __builtin_trap();
    try {
      if (!spec->parse(d.args)) __builtin_trap();
    } catch (const ApiError& e) {
      strict_dump(error_body(e.code(), e.what()));
    }
  }
}

void parse_request(std::string_view input) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(kBodyLimit);
  parser.eager(true);
  boost::beast::error_code ec;
  while (!parser.is_done()) {
    const std::size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    input.remove_prefix(used);
    if (ec || used == 0) return;
  }
  route_and_parse(parser.get());
}

std::vector<std::string_view> lines(std::string_view input) {
  std::vector<std::string_view> out;
  for (std::size_t end; (end = input.find('\n')) != std::string_view::npos;
       input.remove_prefix(end + 1)) {
    out.push_back(input.substr(0, end));
  }
  out.push_back(input);
  return out;
}

void check_bounded(const nlohmann::json& value, std::size_t max) {
  if (value.get_ref<const std::string&>().size() > max) __builtin_trap();
}

void show_outside_text(std::string_view input) {
  const std::vector<std::string_view> field = lines(input);
  const auto at = [&](std::size_t i) { return std::string(field[i % field.size()]); };
  TokenState token;
  token.serial = static_cast<std::uint32_t>(input.size());
  token.medium = "usbkey";
  token.label = at(0);
  token.reader = at(1);
  token.pin = {3, static_cast<int>(input.size() % 4), false};
  token.certificates.push_back({at(2), at(3), at(4), at(5), at(6), at(7), at(8)});

  const nlohmann::json view = token_json(token);
  strict_dump(view);
  check_bounded(view["label"], kMaxLabel);
  check_bounded(view["reader"], kMaxReader);
  check_bounded(view["certificates"][0]["subject"], kMaxName);
  check_bounded(view["certificates"][0]["id"], kMaxShortText);
  if (json_text(view) != view.dump()) __builtin_trap();

  strict_dump(error_body(ErrorCode::token_error, std::string(input)));

  Caller caller;
  caller.origin = config().allowed_origins.front();
  const OperationText operation{at(4), at(5)};
  TokenState plain = token;
  plain.label = "label";
  const std::string shown = PinPrompt::description(caller, operation, token);
  const std::string expected = PinPrompt::description(caller, {"en", "zh"}, plain);
  if (std::count(shown.begin(), shown.end(), '\n') !=
      std::count(expected.begin(), expected.end(), '\n')) {
    __builtin_trap();
  }
  strict_dump(nlohmann::json(shown));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  parse_request(input);
  show_outside_text(input);
  return 0;
}
