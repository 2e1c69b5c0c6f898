#include "ws_session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "../ipc/frame_codec.hpp"
#include "envelope.hpp"

namespace certkey::daemon {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace asio = boost::asio;

WsSession::WsSession(asio::ip::tcp::socket&& socket, NetContext& net, Caller caller)
    : ws_(std::move(socket)), net_(net), caller_(std::move(caller)) {}

WsSession::~WsSession() { net_.connections.leave_websocket(); }

void WsSession::run(beast::http::request<beast::http::string_body> upgrade) {
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& r) { r.set(beast::http::field::server, "certkeyd"); }));
  ws_.read_message_max(ipc::kMaxCommandFrame);
  auto self = shared_from_this();
  asio::dispatch(ws_.get_executor(), [self, upgrade = std::move(upgrade)]() mutable {
    self->ws_.async_accept(upgrade, beast::bind_front_handler(&WsSession::on_accept, self));
  });
}

void WsSession::on_accept(beast::error_code ec) {
  if (ec) return;
  open_ = true;
  net_.events.subscribe(shared_from_this());  // GET /v1/events is watchEvents
  do_read();
}

void WsSession::do_read() {
  if (reading_ || in_flight_ >= kMaxPipelined) return;
  reading_ = true;
  ws_.async_read(buffer_, beast::bind_front_handler(&WsSession::on_read, shared_from_this()));
}

void WsSession::on_read(beast::error_code ec, std::size_t) {
  reading_ = false;
  if (ec) {
    open_ = false;
    return;  // closed, timed out, or over read_message_max: the session ends
  }
  const std::string text = beast::buffers_to_string(buffer_.data());
  buffer_.consume(buffer_.size());
  handle(text);
  do_read();
}

void WsSession::handle(const std::string& text) {
  Envelope envelope;
  try {
    envelope = parse_envelope(text, EnvelopeSource::websocket);
  } catch (const EnvelopeError& e) {
    return send(std::make_shared<const std::string>(
        reply_envelope(e.id(), CommandReply::failure(e.code(), e.what()))));
  }
  ++in_flight_;
  CommandRequest request{std::move(envelope.command), std::move(envelope.args), caller_};
  net_.core.execute(
      std::move(request), [self = shared_from_this(), id = envelope.id](CommandReply reply) {
        asio::dispatch(self->ws_.get_executor(), [self, id, reply = std::move(reply)] {
          --self->in_flight_;
          self->send(std::make_shared<const std::string>(reply_envelope(id, reply)));
          self->do_read();
        });
      });
}

void WsSession::deliver(std::shared_ptr<const std::string> message) {
  asio::post(ws_.get_executor(),
             [self = shared_from_this(), message = std::move(message)] { self->send(message); });
}

void WsSession::close_now() {
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    self->open_ = false;
    beast::error_code ec;
    beast::get_lowest_layer(self->ws_).socket().close(ec);
  });
}

void WsSession::send(std::shared_ptr<const std::string> message) {
  if (!open_) return;
  if (queue_.size() >= kMaxQueuedMessages) {
    open_ = false;  // a client that does not read its events is let go
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
    return;
  }
  queue_.push_back(std::move(message));
  if (queue_.size() > 1) return;  // a write is in flight; on_write sends the rest
  ws_.text(true);
  ws_.async_write(asio::buffer(*queue_.front()),
                  beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
}

void WsSession::on_write(beast::error_code ec, std::size_t) {
  if (ec) {
    open_ = false;
    queue_.clear();
    return;
  }
  queue_.pop_front();
  if (!queue_.empty()) {
    ws_.async_write(asio::buffer(*queue_.front()),
                    beast::bind_front_handler(&WsSession::on_write, shared_from_this()));
  }
}

}  // namespace certkey::daemon
