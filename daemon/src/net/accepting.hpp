// The accept loop both listeners share: accept, make the socket close-on-exec, hand it on,
// accept again; on an error (out of descriptors, say) try again a little later rather than
// spin; stop() ends it.
#pragma once
#include <fcntl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

namespace certkey::daemon {

inline constexpr std::chrono::milliseconds kAcceptRetry{100};

// Programs the daemon starts (the PIN prompt) must not inherit its sockets.
inline void close_on_exec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

template <typename Protocol>
class AcceptLoop : public std::enable_shared_from_this<AcceptLoop<Protocol>> {
 public:
  using Socket = typename Protocol::socket;
  virtual ~AcceptLoop() = default;

  void stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    retry_.cancel();
  }

 protected:
  explicit AcceptLoop(boost::asio::io_context& io) : io_(io), acceptor_(io), retry_(io) {}
  // One accepted connection, already close-on-exec.
  virtual void take(Socket socket) = 0;

  void do_accept() {
    acceptor_.async_accept(
        io_, [self = this->shared_from_this()](boost::system::error_code ec, Socket socket) {
          self->on_accept(ec, std::move(socket));
        });
  }

  boost::asio::io_context& io_;
  typename Protocol::acceptor acceptor_;

 private:
  void on_accept(boost::system::error_code ec, Socket socket) {
    if (ec == boost::asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      retry_.expires_after(kAcceptRetry);
      retry_.async_wait([self = this->shared_from_this()](boost::system::error_code wait) {
        if (!wait) self->do_accept();
      });
      return;
    }
    close_on_exec(socket.native_handle());
    take(std::move(socket));
    do_accept();
  }

  boost::asio::steady_timer retry_;
};

}  // namespace certkey::daemon
