// The unix socket's listener: accepts, checks the peer's uid (SO_PEERCRED), admits under
// the connection cap, and starts a UnixSession.
#pragma once
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>

#include "net_context.hpp"

namespace certkey::daemon {

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
