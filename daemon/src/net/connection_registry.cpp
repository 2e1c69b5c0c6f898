#include "connection_registry.hpp"

#include <vector>

namespace certkey::daemon {

bool ConnectionRegistry::admit(const std::shared_ptr<Connection>& connection) {
  std::shared_ptr<Connection> evicted;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    connections_.remove_if([](const std::weak_ptr<Connection>& c) { return c.expired(); });
    std::size_t same_kind = 0;
    for (const auto& weak : connections_) {
      if (auto c = weak.lock(); c && c->kind() == connection->kind()) ++same_kind;
    }
    if (same_kind >= max_connections_) {
      for (auto it = connections_.begin(); it != connections_.end() && !evicted; ++it) {
        std::shared_ptr<Connection> old = it->lock();
        if (old && old->kind() == connection->kind() && old->waiting) {
          evicted = std::move(old);
          connections_.erase(it);
          break;
        }
      }
      if (!evicted) return false;
    }
    connections_.push_back(connection);
  }
  if (evicted) evicted->close_now();
  return true;
}

void ConnectionRegistry::leave(const Connection* connection) {
  std::lock_guard lock(mutex_);
  connections_.remove_if([&](const std::weak_ptr<Connection>& c) {
    const std::shared_ptr<Connection> p = c.lock();
    return !p || p.get() == connection;
  });
}

std::size_t ConnectionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

void ConnectionRegistry::close_all() {
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (const auto& weak : connections_) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
    connections_.clear();
  }
  for (const auto& c : open) c->close_now();
}

bool ConnectionRegistry::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

bool ConnectionRegistry::admit_websocket() {
  std::lock_guard lock(mutex_);
  if (closed_ || websockets_ >= max_websockets_) return false;
  ++websockets_;
  return true;
}

void ConnectionRegistry::leave_websocket() {
  std::lock_guard lock(mutex_);
  --websockets_;
}

}  // namespace certkey::daemon
