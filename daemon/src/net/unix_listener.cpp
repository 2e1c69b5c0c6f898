#include "unix_listener.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "peer_identity.hpp"
#include "unix_session.hpp"

namespace certkey::daemon {
namespace asio = boost::asio;

UnixListener::UnixListener(NetContext& net, const std::string& path)
    : AcceptLoop(net.io), net_(net), path_(path) {
  const std::filesystem::path directory = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  struct stat st {};
  if (::lstat(directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    throw std::runtime_error("the socket directory " + directory.string() +
                             " is not a directory of this user's");
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

UnixListener::UnixListener(NetContext& net, int listening_socket) : AcceptLoop(net.io), net_(net) {
  acceptor_.assign(asio::local::stream_protocol(), listening_socket);
}

UnixListener::~UnixListener() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove(path_, ec);
}

void UnixListener::take(asio::local::stream_protocol::socket socket) {
  const std::optional<PeerCredentials> peer = unix_peer(socket.native_handle());
  auto session = std::make_shared<UnixSession>(std::move(socket), net_,
                                               peer.value_or(PeerCredentials{~uid_t{0}, 0}));
  if (!peer || peer->uid != ::geteuid()) {
    session->refuse(ErrorCode::foreign_user);
  } else if (!net_.connections.admit(session)) {
    session->refuse(ErrorCode::too_many_connections);
  } else {
    session->run();
  }
}

}  // namespace certkey::daemon
