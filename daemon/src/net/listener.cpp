#include "listener.hpp"

#include <fcntl.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/strand.hpp>

#include "http_session.hpp"

namespace certkey::daemon {
namespace asio = boost::asio;
namespace {

// Programs the daemon starts (the PIN prompt) must not inherit its sockets.
void close_on_exec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

}  // namespace

Listener::Listener(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint, const GuardConfig& guard,
                   Router& router, asio::thread_pool& worker)
    : io_(io), acceptor_(asio::make_strand(io)), retry_(io), guard_(guard), router_(router), worker_(worker) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  close_on_exec(acceptor_.native_handle());
}

void Listener::do_accept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         boost::beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(boost::beast::error_code ec, asio::ip::tcp::socket socket) {
  if (ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors, say: try again a little later rather than spin.
    retry_.expires_after(kAcceptRetry);
    retry_.async_wait([self = shared_from_this()](boost::beast::error_code wait) {
      if (!wait) self->do_accept();
    });
    return;
  }
  close_on_exec(socket.native_handle());
  std::make_shared<HttpSession>(std::move(socket), guard_, router_, worker_)->run();
  do_accept();
}

}  // namespace certkey::daemon
