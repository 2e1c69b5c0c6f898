// One WebSocket on GET /v1/events (Beast chat-multi's websocket_session, STYLE rule 12): it
// receives every token event from the moment it opens, and takes commands in the envelope
// (envelope.hpp), answering each with its id. Writes go through a queue with one write in
// flight; a client that lets kMaxQueuedMessages pile up is disconnected.
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <memory>
#include <string>

#include "../core/caller.hpp"
#include "net_context.hpp"

namespace certkey::daemon {

class WsSession : public EventSubscriber, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(boost::asio::ip::tcp::socket&& socket, NetContext& net, Caller caller);
  ~WsSession() override;
  // Completes the handshake for `upgrade`, which has passed the request guard.
  void run(boost::beast::http::request<boost::beast::http::string_body> upgrade);
  void deliver(std::shared_ptr<const std::string> message) override;
  void close_now() override;

 private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle(const std::string& text);
  void send(std::shared_ptr<const std::string> message);
  void on_write(boost::beast::error_code ec, std::size_t bytes);

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  NetContext& net_;
  Caller caller_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t in_flight_ = 0;  // commands sent to the core, not yet answered
  bool reading_ = false;
  bool open_ = false;
};

}  // namespace certkey::daemon
