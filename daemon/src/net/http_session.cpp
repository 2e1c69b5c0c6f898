#include "http_session.hpp"

#include <openssl/crypto.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "../views/text.hpp"
#include "http_routes.hpp"
#include "ws_session.hpp"

namespace certkey::daemon {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

HttpSession::HttpSession(asio::ip::tcp::socket&& socket, NetContext& net, unsigned port, Caller peer, bool foreign)
    : stream_(std::move(socket)), net_(net), port_(port), peer_(std::move(peer)), foreign_(foreign) {}

HttpSession::~HttpSession() { net_.connections.leave(this); }

void HttpSession::run() {
  asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::refuse(ErrorCode code) {
  // Answered at once, without reading: a flood of refused connections holds nothing.
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), code] {
    Response r = self->error_response(code, std::nullopt);
    r.keep_alive(false);
    self->send(std::move(r));
  });
}

void HttpSession::close_now() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    beast::error_code ec;
    self->stream_.socket().close(ec);
  });
}

void HttpSession::do_read() {
  waiting = true;
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(kBodyLimit);
  // Headers and body must arrive within the limit (slow senders are closed).
  stream_.expires_after(net_.config.limits.request_timeout);
  http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  waiting = false;
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return do_close();
  }
  if (ec == http::error::header_limit || ec == http::error::body_limit || ec) {
    const ErrorCode code = ec == http::error::header_limit ? ErrorCode::headers_too_large
                           : ec == http::error::body_limit ? ErrorCode::payload_too_large
                                                           : ErrorCode::bad_request;
    Response r = error_response(code, std::nullopt);
    r.keep_alive(false);
    return send(std::move(r));
  }
  // The request is in. What follows may take as long as the command's own deadline allows
  // (a PIN prompt the user takes time over): no read timer runs until the answer is written.
  stream_.expires_never();
  handle();
}

void HttpSession::handle() {
  http::request<http::string_body>& request = parser_->get();
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  auto refuse_and_close = [&](ErrorCode code, const std::optional<Origin>& cors = std::nullopt) {
    Response r = error_response(code, cors);
    r.keep_alive(false);
    send(std::move(r));
  };
  if (foreign_) return refuse_and_close(ErrorCode::foreign_user);
  if (target.size() > kMaxTarget) return refuse_and_close(ErrorCode::uri_too_long);
  const GuardVerdict verdict = check_request(net_.config, port_, request);
  if (verdict.refusal) return refuse_and_close(*verdict.refusal);
  if (verdict.preflight) {
    Response r = response(204, nullptr, verdict.origin);
    r.set(http::field::access_control_allow_methods, routed_methods());
    r.set(http::field::access_control_allow_headers, std::string("Content-Type, ") + kRequestHeader);
    r.set(http::field::access_control_max_age, "600");
    // Harmless for browsers that still send the old Private Network Access preflight;
    // Chromium's Local Network Access asks the user instead (docs/daemon.md).
    if (verdict.private_network) r.set("Access-Control-Allow-Private-Network", "true");
    r.keep_alive(request.keep_alive());
    return send(std::move(r));
  }
  const RouteOutcome route = route_http(request.method(), path);
  if (!route.route) {
    Response r = error_response(route.error, verdict.origin);
    if (!route.allow.empty()) r.set(http::field::allow, route.allow);
    r.keep_alive(request.keep_alive());
    return send(std::move(r));
  }
  if (route.route->websocket) {
    if (beast::websocket::is_upgrade(request)) return upgrade(*verdict.origin);
    Response r = error_response(ErrorCode::upgrade_required, verdict.origin);
    r.set(http::field::upgrade, "websocket");
    r.keep_alive(request.keep_alive());
    return send(std::move(r));
  }
  nlohmann::json args;
  try {
    args = request_args(*route.route, request.body());
  } catch (const ApiError& e) {
    Response r = error_response(e.code(), verdict.origin, e.what());
    r.keep_alive(request.keep_alive());
    return send(std::move(r));
  }
  // A PIN sent in legacy mode is in the body: it lives no longer than needed.
  OPENSSL_cleanse(request.body().data(), request.body().size());
  execute(route.route->command, std::move(args), verdict.origin, request.keep_alive());
}

void HttpSession::execute(const std::string& command, nlohmann::json args, const std::optional<Origin>& origin,
                          bool keep_alive) {
  CommandRequest request{command, std::move(args), peer_};
  request.caller.origin = origin;
  net_.core.execute(std::move(request), [self = shared_from_this(), origin, keep_alive](CommandReply reply) {
    asio::dispatch(self->stream_.get_executor(), [self, origin, keep_alive, reply = std::move(reply)] {
      Response r = self->response(reply.status, reply.body, origin);
      r.keep_alive(keep_alive);
      self->send(std::move(r));
    });
  });
}

void HttpSession::upgrade(const Origin& origin) {
  if (!net_.connections.admit_websocket()) {
    Response r = error_response(ErrorCode::too_many_connections, origin);
    r.keep_alive(false);
    return send(std::move(r));
  }
  Caller caller = peer_;
  caller.transport = Transport::websocket;
  caller.origin = origin;
  net_.connections.leave(this);  // the WebSocket counts against its own cap from here on
  std::make_shared<WsSession>(stream_.release_socket(), net_, std::move(caller))->run(parser_->release());
}

HttpSession::Response HttpSession::response(unsigned status, const std::shared_ptr<const std::string>& body,
                                            const std::optional<Origin>& cors) const {
  Response r{static_cast<http::status>(status), 11};
  r.set(http::field::server, "certkeyd");
  r.set(http::field::cache_control, "no-store");
  r.set("X-Content-Type-Options", "nosniff");
  // CORS headers only for an allowed origin, and never "*": other origins learn nothing.
  if (cors) {
    r.set(http::field::access_control_allow_origin, cors->text());
    r.set(http::field::vary, "Origin");
  }
  if (status == 429) {
    const unsigned per_minute = net_.config.limits.state_changes_per_minute;
    r.set(http::field::retry_after, std::to_string((60 + per_minute - 1) / per_minute));
  }
  if (body) {
    r.set(http::field::content_type, "application/json");
    r.body() = *body;
  }
  r.prepare_payload();
  return r;
}

HttpSession::Response HttpSession::error_response(ErrorCode code, const std::optional<Origin>& cors,
                                                  const std::string& detail) const {
  return response(error_info(code).http_status, std::make_shared<const std::string>(json_text(error_body(code, detail))),
                  cors);
}

void HttpSession::send(Response response) {
  waiting = false;
  in_flight_ = std::make_shared<Response>(std::move(response));
  const bool keep_alive = in_flight_->keep_alive();
  stream_.expires_after(kWriteTimeout);
  http::async_write(stream_, *in_flight_,
                    beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), keep_alive));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  in_flight_.reset();
  if (ec || !keep_alive) return do_close();
  do_read();
}

void HttpSession::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

}  // namespace certkey::daemon
