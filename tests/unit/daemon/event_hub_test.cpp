// The live event subscribers (daemon/src/net/event_hub.*, STYLE rule 12): a message reaches
// every live subscriber, the same text shared; subscribers that went away are dropped; and
// delivery happens outside the hub's lock.
#include "net/event_hub.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace certkey::daemon {
namespace {

// Records what it is given, in a list that outlives it.
class RecordingSubscriber : public EventSubscriber {
 public:
  explicit RecordingSubscriber(std::vector<std::string>& received) : received_(received) {}
  void deliver(std::shared_ptr<const std::string> message) override {
    received_.push_back(*message);
    last = message;
    if (on_deliver) on_deliver();
  }
  void close_now() override { closed = true; }
  std::shared_ptr<const std::string> last;
  std::function<void()> on_deliver;
  bool closed = false;

 private:
  std::vector<std::string>& received_;
};

std::shared_ptr<const std::string> message(const char* text) {
  return std::make_shared<const std::string>(text);
}

TEST(EventHub, Publish_ReachesEveryLiveSubscriber_WithTheSameText) {
  EventHub hub;
  std::vector<std::string> to_a, to_b;
  auto a = std::make_shared<RecordingSubscriber>(to_a);
  auto b = std::make_shared<RecordingSubscriber>(to_b);
  hub.subscribe(a);
  hub.subscribe(b);
  const auto inserted = message(R"({"event":"tokenInserted"})");

  hub.publish(inserted);

  EXPECT_EQ(to_a, std::vector<std::string>{*inserted});
  EXPECT_EQ(to_b, std::vector<std::string>{*inserted});
  EXPECT_EQ(a->last, inserted);  // shared, not copied
  EXPECT_EQ(b->last, inserted);
}

TEST(EventHub, SubscribersThatWentAway_AreDropped) {
  EventHub hub;
  std::vector<std::string> to_live, to_gone;
  auto live = std::make_shared<RecordingSubscriber>(to_live);
  auto gone = std::make_shared<RecordingSubscriber>(to_gone);
  hub.subscribe(live);
  hub.subscribe(gone);
  gone.reset();

  hub.publish(message("one"));
  hub.subscribe(std::make_shared<RecordingSubscriber>(to_gone));  // gone at once, too
  hub.publish(message("two"));

  EXPECT_EQ(to_live, (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(to_gone.empty());
}

TEST(EventHub, Delivery_IsOutsideTheLock_SoASubscriberMaySubscribeAnother) {
  EventHub hub;
  std::vector<std::string> to_first, to_second;
  auto first = std::make_shared<RecordingSubscriber>(to_first);
  auto second = std::make_shared<RecordingSubscriber>(to_second);
  first->on_deliver = [&] { hub.subscribe(second); };
  hub.subscribe(first);

  hub.publish(message("one"));
  first->on_deliver = nullptr;
  hub.publish(message("two"));

  EXPECT_EQ(to_first, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(to_second, std::vector<std::string>{"two"});
}

}  // namespace
}  // namespace certkey::daemon
