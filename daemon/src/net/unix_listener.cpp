#include "unix_listener.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "accepting.hpp"
#include "peer_identity.hpp"
#include "unix_session.hpp"

namespace certkey::daemon {
namespace asio = boost::asio;

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
