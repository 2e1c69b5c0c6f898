// The cap on connections (DESIGN.md section 6, item 3). TCP connections and unix-socket
// connections each have the cap to themselves, so a flood on loopback cannot push out the
// CLI or the browser extension's relay. A new connection over its cap makes room by closing
// the oldest connection of its kind that is waiting for a request (one that never sent one,
// like an idle flood, or an idle keep-alive); when every one is busy, the new one is answered
// too_many_connections. WebSockets have a cap of their own. Thread-safe: a session's last
// reference may go on a token worker, and its destructor leaves from there.
#pragma once
#include <atomic>
#include <list>
#include <memory>
#include <mutex>

namespace certkey::daemon {

class Connection {
 public:
  enum class Kind { tcp, unix_socket };
  explicit Connection(Kind kind) : kind_(kind) {}
  virtual ~Connection() = default;
  Kind kind() const { return kind_; }
  // Closes the connection from the network thread; its handlers then end it.
  virtual void close_now() = 0;
  std::atomic<bool> waiting{true};  // for a request (not processing one or writing an answer)

 private:
  Kind kind_;
};

class ConnectionRegistry {
 public:
  ConnectionRegistry(unsigned max_connections, unsigned max_websockets)
      : max_connections_(max_connections), max_websockets_(max_websockets) {}

  // False: at the cap with no waiting connection to close, or shutting down.
  bool admit(const std::shared_ptr<Connection>& connection);
  void leave(const Connection* connection);
  bool admit_websocket();
  void leave_websocket();
  std::size_t size() const;
  // Closes every connection, and from now on admits none (shutdown).
  void close_all();
  bool closed() const;

 private:
  unsigned max_connections_;
  unsigned max_websockets_;
  mutable std::mutex mutex_;
  unsigned websockets_ = 0;
  bool closed_ = false;
  std::list<std::weak_ptr<Connection>> connections_;  // oldest first
};

}  // namespace certkey::daemon
