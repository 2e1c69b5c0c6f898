// The daemon's listening sockets: HTTP on loopback (127.0.0.1 and [::1], each its own socket)
// and the unix socket. Each accepted connection is checked for its owner, admitted under the
// connection cap, and handed to its session.
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "net_context.hpp"

namespace certkey::daemon {

class TcpListener : public std::enable_shared_from_this<TcpListener> {
 public:
  // Throws boost::system::system_error when the endpoint cannot be bound.
  TcpListener(NetContext& net, const boost::asio::ip::tcp::endpoint& endpoint);
  unsigned short port() const { return port_; }
  // The port the Host header must name (the IPv4 listener's when both share one).
  void run(unsigned host_port);
  void stop();

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket);

  NetContext& net_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  unsigned short port_;
  unsigned host_port_ = 0;
};

class UnixListener : public std::enable_shared_from_this<UnixListener> {
 public:
  // Creates the socket's directory (mode 0700) and the socket (0600). Refuses to start when
  // another daemon answers there; a stale socket file is replaced. Throws std::runtime_error.
  UnixListener(NetContext& net, const std::string& path);
  ~UnixListener();
  void run();
  void stop();

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, boost::asio::local::stream_protocol::socket socket);

  NetContext& net_;
  std::string path_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer retry_;
};

}  // namespace certkey::daemon
