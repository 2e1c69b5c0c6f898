// One connection on certkeyd's unix socket: the CLI, or a native-messaging relay for the
// browser extension (docs/daemon.md, "Unix socket and native messaging"). Messages are
// length-prefixed frames (ipc/frame_codec.hpp) holding envelopes. The peer must be the
// daemon's own user (SO_PEERCRED). A same-user peer may say which web origin it relays for:
// such a peer could reach the tokens through PC/SC anyway, so this is no privilege boundary,
// and the origin still has to be on the allowlist.
#pragma once
#include <boost/asio/local/stream_protocol.hpp>
#include <deque>
#include <memory>
#include <string>

#include "../core/caller.hpp"
#include "../ipc/frame_codec.hpp"
#include "envelope.hpp"
#include "net_context.hpp"
#include "peer_identity.hpp"

namespace certkey::daemon {

class UnixSession : public Connection,
                    public EventSubscriber,
                    public std::enable_shared_from_this<UnixSession> {
 public:
  UnixSession(boost::asio::local::stream_protocol::socket&& socket, NetContext& net,
              PeerCredentials peer);
  ~UnixSession() override;
  void run();
  // Refuses the connection with `code` in one frame, then closes it.
  void refuse(ErrorCode code);
  void close_now() override;
  void deliver(std::shared_ptr<const std::string> message) override;

 private:
  void do_read();
  void on_read(boost::system::error_code ec, std::size_t bytes);
  void drain();
  void handle(const std::string& frame);
  Caller caller_for(const Envelope& envelope) const;
  void send(std::shared_ptr<const std::string> frame);
  void on_write(boost::system::error_code ec, std::size_t bytes);
  void close();

  boost::asio::local::stream_protocol::socket socket_;
  NetContext& net_;
  PeerCredentials peer_;
  ipc::FrameDecoder decoder_{ipc::kMaxCommandFrame};
  char chunk_[4096];
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::size_t in_flight_ = 0;
  std::size_t frames_ = 0;
  bool relay_ = false;  // a native-messaging relay said hello
  std::string extension_;
  bool subscribed_ = false;
  bool reading_ = false;
  bool open_ = true;
};

}  // namespace certkey::daemon
