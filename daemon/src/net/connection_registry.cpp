#include "connection_registry.hpp"

namespace certkey::daemon {

bool ConnectionRegistry::admit(const std::shared_ptr<Connection>& connection) {
  connections_.remove_if([](const std::weak_ptr<Connection>& c) { return c.expired(); });
  if (connections_.size() >= max_connections_) {
    for (auto it = connections_.begin(); it != connections_.end(); ++it) {
      std::shared_ptr<Connection> old = it->lock();
      if (old && old->waiting) {
        connections_.erase(it);
        old->close_now();
        break;
      }
    }
    if (connections_.size() >= max_connections_) return false;
  }
  connections_.push_back(connection);
  return true;
}

void ConnectionRegistry::leave(const Connection* connection) {
  connections_.remove_if([&](const std::weak_ptr<Connection>& c) {
    const std::shared_ptr<Connection> p = c.lock();
    return !p || p.get() == connection;
  });
}

void ConnectionRegistry::close_all() {
  std::list<std::weak_ptr<Connection>> connections;
  connections.swap(connections_);
  for (const auto& weak : connections) {
    if (auto c = weak.lock()) c->close_now();
  }
}

bool ConnectionRegistry::admit_websocket() {
  if (websockets_ >= max_websockets_) return false;
  ++websockets_;
  return true;
}

}  // namespace certkey::daemon
