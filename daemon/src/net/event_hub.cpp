#include "event_hub.hpp"

#include <algorithm>

namespace certkey::daemon {

void EventHub::subscribe(const std::shared_ptr<EventSubscriber>& subscriber) {
  std::unique_lock lock(mutex_);
  if (closed_) {
    lock.unlock();
    return subscriber->close_now();
  }
  subscribers_.erase(
      std::remove_if(subscribers_.begin(), subscribers_.end(),
                     [](const std::weak_ptr<EventSubscriber>& s) { return s.expired(); }),
      subscribers_.end());
  subscribers_.push_back(subscriber);
}

void EventHub::publish(const std::shared_ptr<const std::string>& message) {
  std::vector<std::shared_ptr<EventSubscriber>> live;
  {
    std::lock_guard lock(mutex_);
    for (const auto& weak : subscribers_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (const auto& s : live) s->deliver(message);
}

void EventHub::close_all() {
  std::vector<std::weak_ptr<EventSubscriber>> subscribers;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    subscribers.swap(subscribers_);
  }
  for (const auto& weak : subscribers) {
    if (auto s = weak.lock()) s->close_now();
  }
}

}  // namespace certkey::daemon
