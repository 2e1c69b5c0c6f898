// Accepts connections on one loopback endpoint and starts an HttpSession for each, on its
// own strand.
#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>

#include "../api/router.hpp"
#include "request_guard.hpp"

namespace certkey::daemon {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  // Throws boost::system::system_error when the endpoint cannot be bound.
  Listener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, const GuardConfig& guard,
           Router& router, boost::asio::thread_pool& worker);
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  void run() { do_accept(); }

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  static constexpr std::chrono::milliseconds kAcceptRetry{100};
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  const GuardConfig& guard_;
  Router& router_;
  boost::asio::thread_pool& worker_;
};

}  // namespace certkey::daemon
