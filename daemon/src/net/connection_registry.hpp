// The cap on connections (DESIGN.md section 6, item 3). A new connection over the cap makes
// room by closing the oldest connection that is waiting for a request (one that never sent
// one, like an idle flood, or an idle keep-alive); when every connection is busy, the new
// one is answered too_many_connections. WebSockets have a cap of their own. Used on the
// network thread only (certkeyd runs its io_context on one thread).
#pragma once
#include <list>
#include <memory>

namespace certkey::daemon {

class Connection {
 public:
  virtual ~Connection() = default;
  // Closes the connection from the network thread; its handlers then end it.
  virtual void close_now() = 0;
  bool waiting = true;  // for a request (not processing one or writing an answer)
};

class ConnectionRegistry {
 public:
  ConnectionRegistry(unsigned max_connections, unsigned max_websockets)
      : max_connections_(max_connections), max_websockets_(max_websockets) {}

  // False: at the cap with no waiting connection to close.
  bool admit(const std::shared_ptr<Connection>& connection);
  void leave(const Connection* connection);
  bool admit_websocket();
  void leave_websocket() { --websockets_; }
  std::size_t size() const { return connections_.size(); }
  // Closes every connection (at shutdown).
  void close_all();

 private:
  unsigned max_connections_;
  unsigned max_websockets_;
  unsigned websockets_ = 0;
  std::list<std::weak_ptr<Connection>> connections_;  // oldest first
};

}  // namespace certkey::daemon
