#include "unix_session.hpp"

#include <sys/stat.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "envelope.hpp"

namespace certkey::daemon {
namespace asio = boost::asio;

UnixSession::UnixSession(asio::local::stream_protocol::socket&& socket, NetContext& net,
                         PeerCredentials peer)
    : Connection(Kind::unix_socket), socket_(std::move(socket)), net_(net), peer_(peer) {}

UnixSession::~UnixSession() { net_.connections.leave(this); }

void UnixSession::run() {
  asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->do_read(); });
}

void UnixSession::refuse(ErrorCode code) {
  asio::dispatch(socket_.get_executor(), [self = shared_from_this(), code] {
    self->send(std::make_shared<const std::string>(
        ipc::encode_frame(reply_envelope(nullptr, CommandReply::failure(code)))));
    self->open_ = false;  // closes once the frame is written
  });
}

void UnixSession::close_now() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
}

void UnixSession::close() {
  open_ = false;
  boost::system::error_code ec;
  socket_.close(ec);
}

void UnixSession::do_read() {
  if (reading_ || !open_ || in_flight_ >= kMaxPipelined) return;
  reading_ = true;
  // A peer with nothing in flight may be closed to make room, even halfway through a frame.
  waiting = in_flight_ == 0 && !subscribed_;
  socket_.async_read_some(asio::buffer(chunk_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                            self->on_read(ec, n);
                          });
}

void UnixSession::on_read(boost::system::error_code ec, std::size_t bytes) {
  reading_ = false;
  waiting = false;
  if (ec) return close();
  decoder_.feed(chunk_, bytes);
  drain();
}

// Handles the frames that have arrived, up to kMaxPipelined in flight (the rest wait in the
// decoder), then reads on if there is room.
void UnixSession::drain() {
  while (in_flight_ < kMaxPipelined) {
    std::optional<std::string> frame = decoder_.next();
    if (!frame) break;
    handle(*frame);
  }
  if (decoder_.broken()) {
    send(std::make_shared<const std::string>(ipc::encode_frame(
        reply_envelope(nullptr, CommandReply::failure(ErrorCode::payload_too_large)))));
    open_ = false;  // closes once that is written
    return;
  }
  do_read();
}

Caller UnixSession::caller_for(const Envelope& envelope) const {
  Caller caller;
  caller.transport = relay_ ? Transport::native_messaging : Transport::unix_socket;
  caller.uid = peer_.uid;
  caller.pid = peer_.pid;
  caller.extension = extension_;
  if (envelope.origin) {
    caller.origin = Origin::parse(*envelope.origin);
    if (!caller.origin)
      throw ApiError(ErrorCode::origin_not_allowed, "\"origin\" is not a web origin");
  } else if (relay_) {
    // The extension always names the page it speaks for; without one, nobody may act.
    throw ApiError(ErrorCode::bad_request, "a relayed message names its origin");
  }
  if (relay_ && (!envelope.tty_name.empty() || !envelope.tty_type.empty())) {
    // A relayed message comes from a web page, which has no terminal to offer.
    throw ApiError(ErrorCode::bad_request, "a relayed message names no terminal");
  }
  if (!envelope.tty_name.empty()) {
    // A terminal of the caller's own, for a text-mode PIN prompt (GnuPG's GPG_TTY).
    struct stat st {};
    if (envelope.tty_name.rfind("/dev/", 0) != 0 ||
        envelope.tty_name.find("..") != std::string::npos ||
        ::stat(envelope.tty_name.c_str(), &st) != 0 || !S_ISCHR(st.st_mode) ||
        st.st_uid != peer_.uid) {
      throw ApiError(ErrorCode::bad_request, "\"tty\" is not a terminal of the caller's");
    }
    caller.tty_name = envelope.tty_name;
    caller.tty_type = envelope.tty_type;
  }
  return caller;
}

void UnixSession::handle(const std::string& frame) {
  if (frames_++ == 0) {
    if (std::optional<std::string> extension = parse_relay_hello(frame)) {
      relay_ = true;
      extension_ = *extension;
      return;
    }
  }
  Envelope envelope;
  Caller caller;
  try {
    envelope = parse_envelope(frame, EnvelopeSource::unix_socket);
    caller = caller_for(envelope);
  } catch (const EnvelopeError& e) {
    return send(std::make_shared<const std::string>(
        ipc::encode_frame(reply_envelope(e.id(), CommandReply::failure(e.code(), e.what())))));
  } catch (const ApiError& e) {
    return send(std::make_shared<const std::string>(
        ipc::encode_frame(reply_envelope(envelope.id, CommandReply::failure(e.code(), e.what())))));
  }
  ++in_flight_;
  CommandRequest request{std::move(envelope.command), std::move(envelope.args), std::move(caller)};
  net_.core.execute(std::move(request), [self = shared_from_this(),
                                         id = envelope.id](CommandReply reply) {
    asio::dispatch(self->socket_.get_executor(), [self, id, reply = std::move(reply)] {
      --self->in_flight_;
      if (reply.subscribe && !self->subscribed_) {
        self->subscribed_ = true;
        self->net_.events.subscribe(self);
      }
      self->send(std::make_shared<const std::string>(ipc::encode_frame(reply_envelope(id, reply))));
      self->drain();
    });
  });
}

void UnixSession::deliver(std::shared_ptr<const std::string> message) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), message = std::move(message)] {
    if (self->subscribed_)
      self->send(std::make_shared<const std::string>(ipc::encode_frame(*message)));
  });
}

void UnixSession::send(std::shared_ptr<const std::string> frame) {
  if (!socket_.is_open()) return;
  if (queue_.size() >= kMaxQueuedMessages) return close();  // a client that does not read is let go
  queue_.push_back(std::move(frame));
  if (queue_.size() > 1) return;
  asio::async_write(socket_, asio::buffer(*queue_.front()),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                      self->on_write(ec, n);
                    });
}

void UnixSession::on_write(boost::system::error_code ec, std::size_t) {
  if (ec) return close();
  queue_.pop_front();
  if (!queue_.empty()) {
    asio::async_write(socket_, asio::buffer(*queue_.front()),
                      [self = shared_from_this()](boost::system::error_code e, std::size_t n) {
                        self->on_write(e, n);
                      });
  } else if (!open_) {
    close();
  }
}

}  // namespace certkey::daemon
