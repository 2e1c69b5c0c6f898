#include "tcp_listener.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <boost/asio/ip/v6_only.hpp>

#include "http_session.hpp"
#include "peer_identity.hpp"

namespace certkey::daemon {
namespace asio = boost::asio;
namespace {

// Every connection's handlers run on the one network thread (main.cpp runs the io_context on
// one thread), which serialises them as a strand per connection would, without its cost.

sockaddr_storage storage_of(const asio::ip::tcp::endpoint& endpoint) {
  sockaddr_storage out{};
  std::memcpy(&out, endpoint.data(), std::min<std::size_t>(endpoint.size(), sizeof out));
  return out;
}

}  // namespace

TcpListener::TcpListener(NetContext& net, const asio::ip::tcp::endpoint& endpoint)
    : AcceptLoop(net.io), net_(net) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  close_on_exec(acceptor_.native_handle());
  port_ = acceptor_.local_endpoint().port();
}

TcpListener::TcpListener(NetContext& net, int listening_socket) : AcceptLoop(net.io), net_(net) {
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  ::getsockname(listening_socket, reinterpret_cast<sockaddr*>(&address), &length);
  acceptor_.assign(address.ss_family == AF_INET6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(),
                   listening_socket);
  port_ = acceptor_.local_endpoint().port();
}

void TcpListener::run(unsigned host_port) {
  host_port_ = host_port;
  do_accept();
}

void TcpListener::take(asio::ip::tcp::socket socket) {
  boost::system::error_code local_ec, remote_ec;
  const auto local = socket.local_endpoint(local_ec), remote = socket.remote_endpoint(remote_ec);
  // The other end must be a socket of this daemon's own user (another user's browser on the
  // same machine is refused); unknown counts as foreign.
  std::optional<uid_t> uid;
  if (!local_ec && !remote_ec) uid = loopback_peer_uid(storage_of(local), storage_of(remote));
  Caller peer;
  peer.transport = Transport::http;
  peer.uid = uid;
  const bool foreign = !uid || *uid != ::geteuid();
  auto session = std::make_shared<HttpSession>(std::move(socket), net_, host_port_, peer, foreign);
  // Another user's peer is answered at once and never admitted: it cannot push anyone out.
  if (foreign) {
    session->refuse(ErrorCode::foreign_user);
  } else if (net_.connections.admit(session)) {
    session->run();
  } else {
    session->refuse(ErrorCode::too_many_connections);
  }
}

}  // namespace certkey::daemon
