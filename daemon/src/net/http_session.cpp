#include "http_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace certkey::daemon {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;

HttpSession::HttpSession(asio::ip::tcp::socket&& socket, const GuardConfig& guard, Router& router,
                         asio::thread_pool& worker)
    : stream_(std::move(socket)), guard_(guard), router_(router), worker_(worker) {}

void HttpSession::run() {
  asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::do_read, shared_from_this()));
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(kBodyLimit);
  stream_.expires_after(kReadTimeout);
  http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
}

HttpSession::Response HttpSession::make_response(unsigned status, const nlohmann::json* body,
                                                 const GuardVerdict& verdict) const {
  Response response{static_cast<http::status>(status), 11};
  response.set(http::field::server, "certkeyd");
  response.set(http::field::cache_control, "no-store");
  response.set("X-Content-Type-Options", "nosniff");
  // CORS headers only for an allowed origin, and never "*": other origins learn nothing.
  if (!verdict.origin.empty()) {
    response.set(http::field::access_control_allow_origin, verdict.origin);
    response.set(http::field::vary, "Origin");
  }
  if (body) {
    response.set(http::field::content_type, "application/json");
    response.body() = body->dump();
  }
  response.prepare_payload();
  return response;
}

void HttpSession::on_read(beast::error_code ec, std::size_t) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout) return do_close();
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    const nlohmann::json body = error_body(ErrorCode::payload_too_large);
    Response response = make_response(413, &body, GuardVerdict{});
    response.keep_alive(false);
    return send(std::move(response));
  }
  if (ec) return do_close();  // a malformed request gets no answer

  // The request is in. Answering may take as long as the token work does (a PIN prompt the
  // user takes time over): no timer runs until the answer is written.
  stream_.expires_never();
  const HttpRequest& request = parser_->get();
  const GuardVerdict verdict = check_request(guard_, request);
  if (verdict.refusal) {
    const nlohmann::json body = error_body(*verdict.refusal);
    Response response = make_response(error_info(*verdict.refusal).http_status, &body, verdict);
    response.keep_alive(false);
    return send(std::move(response));
  }
  if (verdict.preflight) {
    Response response = make_response(204, nullptr, verdict);
    response.set(http::field::access_control_allow_methods, "GET, POST");
    response.set(http::field::access_control_allow_headers, std::string("Content-Type, ") + std::string(kRequestHeader));
    response.set(http::field::access_control_max_age, "600");
    if (verdict.private_network) response.set("Access-Control-Allow-Private-Network", "true");
    response.keep_alive(request.keep_alive());
    return send(std::move(response));
  }
  const std::string target(request.target());
  ApiRequest api{std::string(request.method_string()), target.substr(0, target.find('?')), request.body(),
                 verdict.origin};
  const bool keep_alive = request.keep_alive();
  // Token work happens on the worker, never on the network thread.
  asio::post(worker_, [self = shared_from_this(), api = std::move(api), verdict, keep_alive] {
    ApiResponse result = self->router_.handle(api);
    Response response = self->make_response(result.status, &result.body, verdict);
    response.keep_alive(keep_alive);
    asio::post(self->stream_.get_executor(),
               [self, response = std::move(response)]() mutable { self->send(std::move(response)); });
  });
}

void HttpSession::send(Response response) {
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
}

}  // namespace certkey::daemon
