// The HTTP listener on one loopback address (127.0.0.1 and [::1] each get one): accepts,
// asks the kernel who owns the peer socket, admits under the connection cap, and starts an
// HttpSession.
#pragma once
#include <boost/asio/ip/tcp.hpp>
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

}  // namespace certkey::daemon
