#include "listeners.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/ip/v6_only.hpp>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "http_session.hpp"
#include "peer_identity.hpp"
#include "unix_session.hpp"

namespace certkey::daemon {
namespace asio = boost::asio;
namespace {

// Every connection's handlers run on the one network thread (main.cpp runs the io_context on
// one thread), which serialises them as a strand per connection would, without its cost.

// Out of descriptors, say: accept again a little later rather than spin.
constexpr std::chrono::milliseconds kAcceptRetry{100};

// Programs the daemon starts (the PIN prompt) must not inherit its sockets.
void close_on_exec(int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC); }

sockaddr_storage storage_of(const asio::ip::tcp::endpoint& endpoint) {
  sockaddr_storage out{};
  std::memcpy(&out, endpoint.data(), std::min<std::size_t>(endpoint.size(), sizeof out));
  return out;
}

}  // namespace

TcpListener::TcpListener(NetContext& net, const asio::ip::tcp::endpoint& endpoint)
    : net_(net), acceptor_(net.io), retry_(net.io) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (endpoint.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  close_on_exec(acceptor_.native_handle());
  port_ = acceptor_.local_endpoint().port();
}

void TcpListener::run(unsigned host_port) {
  host_port_ = host_port;
  do_accept();
}

void TcpListener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

void TcpListener::do_accept() {
  acceptor_.async_accept(net_.io, [self = shared_from_this()](boost::system::error_code ec,
                                                                                  asio::ip::tcp::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void TcpListener::on_accept(boost::system::error_code ec, asio::ip::tcp::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    retry_.expires_after(kAcceptRetry);
    retry_.async_wait([self = shared_from_this()](boost::system::error_code wait) {
      if (!wait) self->do_accept();
    });
    return;
  }
  close_on_exec(socket.native_handle());
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
  if (net_.connections.admit(session)) {
    session->run();
  } else {
    session->refuse(ErrorCode::too_many_connections);
  }
  do_accept();
}

UnixListener::UnixListener(NetContext& net, const std::string& path)
    : net_(net), path_(path), acceptor_(net.io), retry_(net.io) {
  const std::filesystem::path directory = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  struct stat st {};
  if (::lstat(directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    throw std::runtime_error("the socket directory " + directory.string() + " is not a directory of this user's");
  }
  ::chmod(directory.c_str(), 0700);
  // A socket file left by a daemon that died is replaced; a live daemon is not displaced.
  if (std::filesystem::exists(std::filesystem::symlink_status(path))) {
    asio::local::stream_protocol::socket probe(net.io);
    boost::system::error_code connect_ec;
    probe.connect(asio::local::stream_protocol::endpoint(path), connect_ec);
    if (!connect_ec) throw std::runtime_error("another certkeyd is listening on " + path);
    std::filesystem::remove(path, ec);
  }
  const mode_t old_mask = ::umask(0177);  // the socket is created 0600
  boost::system::error_code bind_ec;
  acceptor_.open(asio::local::stream_protocol(), bind_ec);
  if (!bind_ec) acceptor_.bind(asio::local::stream_protocol::endpoint(path), bind_ec);
  ::umask(old_mask);
  if (!bind_ec) acceptor_.listen(asio::socket_base::max_listen_connections, bind_ec);
  if (bind_ec) throw std::runtime_error("cannot listen on " + path + ": " + bind_ec.message());
  close_on_exec(acceptor_.native_handle());
}

UnixListener::~UnixListener() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

void UnixListener::run() { do_accept(); }

void UnixListener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
}

void UnixListener::do_accept() {
  acceptor_.async_accept(net_.io, [self = shared_from_this()](
                                                         boost::system::error_code ec,
                                                         asio::local::stream_protocol::socket socket) {
    self->on_accept(ec, std::move(socket));
  });
}

void UnixListener::on_accept(boost::system::error_code ec, asio::local::stream_protocol::socket socket) {
  if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
  if (ec) {
    retry_.expires_after(kAcceptRetry);
    retry_.async_wait([self = shared_from_this()](boost::system::error_code wait) {
      if (!wait) self->do_accept();
    });
    return;
  }
  close_on_exec(socket.native_handle());
  const std::optional<PeerCredentials> peer = unix_peer(socket.native_handle());
  auto session = std::make_shared<UnixSession>(std::move(socket), net_, peer.value_or(PeerCredentials{~uid_t{0}, 0}));
  if (!peer || peer->uid != ::geteuid()) {
    session->refuse(ErrorCode::foreign_user);
  } else if (!net_.connections.admit(session)) {
    session->refuse(ErrorCode::too_many_connections);
  } else {
    session->run();
  }
  do_accept();
}

}  // namespace certkey::daemon
