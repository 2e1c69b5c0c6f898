#include "http_session.hpp"

#include <openssl/crypto.h>

#include <array>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/post.hpp>

#include "../views/text.hpp"
#include "http_routes.hpp"
#include "ws_session.hpp"

namespace certkey::daemon {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

HttpSession::HttpSession(asio::ip::tcp::socket&& socket, NetContext& net, unsigned port,
                         Caller peer, bool foreign)
    : Connection(Kind::tcp),
      stream_(std::move(socket)),
      net_(net),
      port_(port),
      peer_(std::move(peer)),
      foreign_(foreign) {}

HttpSession::~HttpSession() { net_.connections.leave(this); }

void HttpSession::run() {
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::refuse(ErrorCode code) {
  // Answered at once, without reading: a flood of refused connections holds nothing.
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(), code] {
    self->answer_error(code, std::nullopt, false);
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
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  waiting = false;
  if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted) {
    return do_close();
  }
  if (ec) {
    return answer_error(ec == http::error::header_limit ? ErrorCode::headers_too_large
                        : ec == http::error::body_limit ? ErrorCode::payload_too_large
                                                        : ErrorCode::bad_request,
                        std::nullopt, false);
  }
  handle();
}

void HttpSession::handle() {
  http::request<http::string_body>& request = parser_->get();
  HttpDecision d = decide(net_.config, port_, request, foreign_);
  // A PIN sent in legacy mode is in the body: it lives no longer than needed.
  OPENSSL_cleanse(request.body().data(), request.body().size());
  const bool keep_alive = request.keep_alive();
  switch (d.action) {
    case HttpDecision::Action::run_command:
      return execute(d.command, std::move(d.args), d.origin, keep_alive);
    case HttpDecision::Action::upgrade: return upgrade(*d.origin);
    case HttpDecision::Action::answer_preflight: {
      const std::string origin = d.origin->text();
      HttpAnswer a;
      a.status = 204;
      a.cors_origin = origin;
      a.keep_alive = keep_alive;
      a.headers = {{"Access-Control-Allow-Methods", routed_methods()},
                   {"Access-Control-Allow-Headers", std::string("Content-Type, ") + kRequestHeader},
                   {"Access-Control-Max-Age", "600"}};
      // Harmless for browsers that still send the old Private Network Access preflight;
      // Chromium's Local Network Access asks the user instead (docs/daemon.md).
      if (d.private_network) a.headers.emplace_back("Access-Control-Allow-Private-Network", "true");
      return send(std::make_shared<const std::string>(serialize(a)), keep_alive);
    }
    case HttpDecision::Action::answer_error: break;
  }
  // Guard refusals close the connection; only a disallowed origin's GET carries CORS headers.
  std::vector<std::pair<std::string_view, std::string>> headers;
  if (!d.allow.empty()) headers.emplace_back("Allow", d.allow);
  if (d.error == ErrorCode::upgrade_required) headers.emplace_back("Upgrade", "websocket");
  answer_error(d.error, d.origin, !d.close && keep_alive, d.detail, std::move(headers));
}

void HttpSession::execute(const std::string& command, nlohmann::json args,
                          const std::optional<Origin>& origin, bool keep_alive) {
  CommandRequest request{command, std::move(args), peer_};
  request.caller.origin = origin;
  writing_.reset();
  net_.core.execute(std::move(request),
                    [self = shared_from_this(), origin, keep_alive](CommandReply reply) {
                      asio::dispatch(self->stream_.get_executor(),
                                     [self, origin, keep_alive, reply = std::move(reply)] {
                                       self->answer_reply(reply, origin, keep_alive);
                                     });
                    });
  // A reply still to come may take as long as the command's own deadline allows (a PIN
  // prompt the user takes time over): no read timer runs until it is written.
  if (!writing_) stream_.expires_never();
}

void HttpSession::answer_reply(const CommandReply& reply, const std::optional<Origin>& origin,
                               bool keep_alive) {
  const std::string origin_text = origin ? origin->text() : std::string();
  if (!cached_.bytes || cached_.body != reply.body || cached_.status != reply.status ||
      cached_.origin != origin_text || cached_.keep_alive != keep_alive) {
    HttpAnswer a;
    a.status = reply.status;
    a.body = reply.body.get();
    a.cors_origin = origin_text;
    a.keep_alive = keep_alive;
    if (reply.status == 429) {
      const unsigned per_minute = net_.config.limits.state_changes_per_minute;
      a.headers.emplace_back("Retry-After", std::to_string((60 + per_minute - 1) / per_minute));
    }
    cached_ = {reply.body, reply.status, origin_text, keep_alive,
               std::make_shared<const std::string>(serialize(a))};
  }
  send(cached_.bytes, keep_alive);
}

void HttpSession::upgrade(const Origin& origin) {
  if (!net_.connections.admit_websocket())
    return answer_error(ErrorCode::too_many_connections, origin, false);
  Caller caller = peer_;
  caller.transport = Transport::websocket;
  caller.origin = origin;
  net_.connections.leave(this);  // the WebSocket counts against its own cap from here on
  std::make_shared<WsSession>(stream_.release_socket(), net_, std::move(caller))
      ->run(parser_->release());
}

void HttpSession::answer_error(ErrorCode code, const std::optional<Origin>& cors, bool keep_alive,
                               const std::string& detail,
                               std::vector<std::pair<std::string_view, std::string>> headers) {
  const std::string body = json_text(error_body(code, detail));
  const std::string origin = cors ? cors->text() : std::string();
  HttpAnswer a;
  a.status = error_info(code).http_status;
  a.body = &body;
  a.cors_origin = origin;
  a.keep_alive = keep_alive;
  a.headers = std::move(headers);
  send(std::make_shared<const std::string>(serialize(a)), keep_alive);
}

void HttpSession::send(std::shared_ptr<const std::string> bytes, bool keep_alive) {
  waiting = false;
  writing_ = std::move(bytes);
  stream_.expires_after(kWriteTimeout);
  asio::async_write(
      stream_, asio::buffer(*writing_),
      beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), keep_alive));
}

void HttpSession::on_write(bool keep_alive, beast::error_code ec, std::size_t) {
  writing_.reset();
  if (ec || !keep_alive) return do_close();
  do_read();
}

// Closes gracefully: the answer is sent, then what the peer still sends is read and dropped
// until it closes too (or kLingerTimeout). Closing with unread data would make the kernel
// reset the connection, and a client could lose the answer it was about to read.
void HttpSession::do_close() {
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) return;
  if (net_.connections.closed()) {  // shutting down: no lingering
    stream_.socket().close(ec);
    return;
  }
  waiting = true;  // a connection on its way out may be closed to make room
  stream_.expires_after(kLingerTimeout);
  drain();
}

void HttpSession::drain() {
  auto scratch = std::make_shared<std::array<char, 512>>();
  stream_.async_read_some(asio::buffer(*scratch),
                          [self = shared_from_this(), scratch](beast::error_code ec, std::size_t) {
                            if (!ec) return self->drain();
                            beast::error_code ignored;
                            self->stream_.socket().close(ignored);
                          });
}

}  // namespace certkey::daemon
