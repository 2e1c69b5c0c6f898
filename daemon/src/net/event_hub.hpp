// The live event subscribers (Beast chat-multi's shared_state): WebSockets on /v1/events and
// unix-socket clients that sent watchEvents. Events come from the token workers; publish()
// takes a snapshot of the subscribers under the lock and delivers outside it, and each
// subscriber queues the text on its own connection.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace certkey::daemon {

class EventSubscriber {
 public:
  virtual ~EventSubscriber() = default;
  // Called from any thread; the subscriber moves it onto its connection.
  virtual void deliver(std::shared_ptr<const std::string> message) = 0;
  // Closes the subscriber's connection (at shutdown), from the network thread.
  virtual void close_now() = 0;
};

class EventHub {
 public:
  // After close_all(), a new subscriber is closed at once (shutdown).
  void subscribe(const std::shared_ptr<EventSubscriber>& subscriber);
  void publish(const std::shared_ptr<const std::string>& message);
  void close_all();

 private:
  std::mutex mutex_;
  std::vector<std::weak_ptr<EventSubscriber>> subscribers_;
  bool closed_ = false;
};

}  // namespace certkey::daemon
