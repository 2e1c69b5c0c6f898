// The HTTP listener on one loopback address (127.0.0.1 and [::1] each get one): accepts,
// asks the kernel who owns the peer socket, admits under the connection cap, and starts an
// HttpSession.
#pragma once
#include <boost/asio/ip/tcp.hpp>

#include "accepting.hpp"
#include "net_context.hpp"

namespace certkey::daemon {

class TcpListener : public AcceptLoop<boost::asio::ip::tcp> {
 public:
  // Throws boost::system::system_error when the endpoint cannot be bound.
  TcpListener(NetContext& net, const boost::asio::ip::tcp::endpoint& endpoint);
  // A listening socket made by another (systemd's socket activation).
  TcpListener(NetContext& net, int listening_socket);
  unsigned short port() const { return port_; }
  // The port the Host header must name (the IPv4 listener's when both share one).
  void run(unsigned host_port);

 private:
  void take(boost::asio::ip::tcp::socket socket) override;

  NetContext& net_;
  unsigned short port_;
  unsigned host_port_ = 0;
};

}  // namespace certkey::daemon
