// The cap on connections (daemon/src/net/connection_registry.*, DESIGN.md section 6, security
// model item 3): a connection over the cap makes room by closing the oldest one that waits
// for a request; when every connection is busy, it is refused. WebSockets have their own cap.
#include "net/connection_registry.hpp"

#include <gtest/gtest.h>

namespace certkey::daemon {
namespace {

// A connection whose close_now() only records that it was called.
class RecordingConnection : public Connection {
 public:
  explicit RecordingConnection(Kind kind) : Connection(kind) {}
  void close_now() override { closed = true; }
  bool closed = false;
};

std::shared_ptr<RecordingConnection> connection(bool waiting = true,
                                                Connection::Kind kind = Connection::Kind::tcp) {
  auto c = std::make_shared<RecordingConnection>(kind);
  c->waiting = waiting;
  return c;
}

TEST(ConnectionRegistry, UpToTheCap_EveryConnectionIsAdmitted) {
  ConnectionRegistry registry(3, 1);
  auto a = connection(), b = connection(), c = connection();
  EXPECT_TRUE(registry.admit(a));
  EXPECT_TRUE(registry.admit(b));
  EXPECT_TRUE(registry.admit(c));
  EXPECT_EQ(registry.size(), 3u);
  EXPECT_FALSE(a->closed || b->closed || c->closed);
}

TEST(ConnectionRegistry, AtTheCap_TheOldestWaitingConnectionIsClosed) {
  ConnectionRegistry registry(2, 1);
  auto a = connection(), b = connection(), c = connection();
  ASSERT_TRUE(registry.admit(a));
  ASSERT_TRUE(registry.admit(b));

  EXPECT_TRUE(registry.admit(c));

  EXPECT_TRUE(a->closed);
  EXPECT_FALSE(b->closed);
  EXPECT_EQ(registry.size(), 2u);
}

TEST(ConnectionRegistry, AtTheCap_BusyConnectionsAreSkipped) {
  ConnectionRegistry registry(2, 1);
  auto busy = connection(false), idle = connection(), fresh = connection();
  ASSERT_TRUE(registry.admit(busy));
  ASSERT_TRUE(registry.admit(idle));

  EXPECT_TRUE(registry.admit(fresh));

  EXPECT_FALSE(busy->closed);
  EXPECT_TRUE(idle->closed);
}

TEST(ConnectionRegistry, AtTheCapWithNoneWaiting_TheNewConnectionIsRefused) {
  ConnectionRegistry registry(2, 1);
  auto a = connection(false), b = connection(false), c = connection();
  ASSERT_TRUE(registry.admit(a));
  ASSERT_TRUE(registry.admit(b));

  EXPECT_FALSE(registry.admit(c));

  EXPECT_FALSE(a->closed || b->closed);
  EXPECT_EQ(registry.size(), 2u);
}

TEST(ConnectionRegistry, Leave_FreesAPlace) {
  ConnectionRegistry registry(2, 1);
  auto a = connection(false), b = connection(false), c = connection(false);
  ASSERT_TRUE(registry.admit(a));
  ASSERT_TRUE(registry.admit(b));
  registry.leave(a.get());
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_TRUE(registry.admit(c));
  EXPECT_FALSE(a->closed || b->closed);
}

TEST(ConnectionRegistry, EndedConnections_FreeTheirPlaces) {
  ConnectionRegistry registry(1, 1);
  auto a = connection(false), b = connection(false);
  ASSERT_TRUE(registry.admit(a));
  a.reset();
  EXPECT_TRUE(registry.admit(b));
}

TEST(ConnectionRegistry, WebSockets_HaveACapOfTheirOwn) {
  ConnectionRegistry registry(100, 2);
  EXPECT_TRUE(registry.admit_websocket());
  EXPECT_TRUE(registry.admit_websocket());
  EXPECT_FALSE(registry.admit_websocket());
  registry.leave_websocket();
  EXPECT_TRUE(registry.admit_websocket());
  EXPECT_EQ(registry.size(), 0u);
}

// A flood on loopback cannot push out the CLI or the extension's relay: each kind has the cap
// to itself, and makes room only among its own.
TEST(ConnectionRegistry, TcpFlood_NeverClosesAUnixSocketConnection) {
  ConnectionRegistry registry(2, 1);
  auto relay = connection(true, Connection::Kind::unix_socket);
  ASSERT_TRUE(registry.admit(relay));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(registry.admit(connection()));
  EXPECT_FALSE(relay->closed);
  EXPECT_TRUE(registry.admit(connection(true, Connection::Kind::unix_socket)));
}

TEST(ConnectionRegistry, AfterCloseAll_EveryConnectionIsClosed_AndNoneIsAdmitted) {
  ConnectionRegistry registry(4, 1);
  auto a = connection(false), b = connection();
  ASSERT_TRUE(registry.admit(a));
  ASSERT_TRUE(registry.admit(b));
  registry.close_all();
  EXPECT_TRUE(a->closed && b->closed);
  EXPECT_TRUE(registry.closed());
  EXPECT_FALSE(registry.admit(connection()));
  EXPECT_FALSE(registry.admit_websocket());
}

}  // namespace
}  // namespace certkey::daemon
