#include "listener.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/strand.hpp>

#include "http_session.hpp"

namespace certkey::daemon {
namespace asio = boost::asio;

Listener::Listener(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint, const GuardConfig& guard,
                   Router& router, asio::thread_pool& worker)
    : io_(io), acceptor_(asio::make_strand(io)), guard_(guard), router_(router), worker_(worker) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void Listener::do_accept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         boost::beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(boost::beast::error_code ec, asio::ip::tcp::socket socket) {
  if (ec == asio::error::operation_aborted) return;
  if (!ec) std::make_shared<HttpSession>(std::move(socket), guard_, router_, worker_)->run();
  do_accept();
}

}  // namespace certkey::daemon
