// The unix socket's listener: accepts, checks the peer's uid (SO_PEERCRED), admits under
// the connection cap, and starts a UnixSession.
#pragma once
#include <boost/asio/local/stream_protocol.hpp>
#include <string>

#include "accepting.hpp"
#include "net_context.hpp"

namespace certkey::daemon {

class UnixListener : public AcceptLoop<boost::asio::local::stream_protocol> {
 public:
  // Creates the socket's directory (mode 0700) and the socket (0600). Refuses to start when
  // another daemon answers there; a stale socket file is replaced. Throws std::runtime_error.
  UnixListener(NetContext& net, const std::string& path);
  // A listening socket made by another (systemd's socket activation), who also owns its file.
  UnixListener(NetContext& net, int listening_socket);
  ~UnixListener() override;
  void run() { do_accept(); }

 private:
  void take(boost::asio::local::stream_protocol::socket socket) override;

  NetContext& net_;
  std::string path_;
};

}  // namespace certkey::daemon
