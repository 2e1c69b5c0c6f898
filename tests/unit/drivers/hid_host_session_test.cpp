// The USB KEY driver's HID session (drivers/usbkey/hid_host_session.*) over its socket back
// end, against the token's own HID device code (agent/transport/hid_device.*) on the other
// end of the socket. The device answers through a handler the test chooses.
#include "usbkey/hid_host_session.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>

#include "transport/hid_device.hpp"
#include "usbkey/socket_report_link.hpp"

namespace certkey::drivers::usbkey {
namespace {

using Buffer = std::vector<std::uint8_t>;
namespace hid = protocol::hid;

// A USB KEY's report pipe: listens on a socket, accepts one host, feeds its reports to a
// HidDevice and answers each APDU with handler(apdu), after `keepalives` keep-alive frames.
class DeviceEnd final : private agent::transport::HidReportSink {
 public:
  using Handler = std::function<Buffer(const Buffer&)>;

  explicit DeviceEnd(Handler handler) : handler_(std::move(handler)) {
    path_ = ::testing::TempDir() + "usbkey-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter_++);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    ::unlink(path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 1), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~DeviceEnd() {
    unplug();
    thread_.join();
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  void set_keepalives(int n) { keepalives_ = n; }
  // Pulls the key: the host's next read sees the end of the stream.
  void unplug() { ::shutdown(host_fd_.load() >= 0 ? host_fd_.load() : listen_fd_, SHUT_RDWR); }

 private:
  bool send_report(protocol::Bytes report) override {
    return ::send(host_fd_, report.data(), report.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(report.size());
  }
  void serve() {
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    host_fd_ = fd;
    std::uint8_t report[hid::kReportSize];
    while (::recv(fd, report, sizeof report, 0) == static_cast<ssize_t>(sizeof report)) {
      if (device_.feed(protocol::Bytes(report, sizeof report), *this) !=
          agent::transport::HidDevice::Event::apdu)
        continue;
      const Buffer response = handler_(Buffer(device_.apdu().begin(), device_.apdu().end()));
      for (int i = 0; i < keepalives_; ++i) device_.keepalive(*this);
      device_.respond(protocol::Bytes(response.data(), response.size()), *this);
    }
    host_fd_ = -1;
    ::close(fd);
  }

  static inline int counter_ = 0;
  Handler handler_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<int> host_fd_{-1};
  std::atomic<int> keepalives_{0};
  agent::transport::HidDevice device_;
  std::thread thread_;
};

Buffer echo_with_9000(const Buffer& apdu) {
  Buffer out = apdu;
  out.push_back(0x90);
  out.push_back(0x00);
  return out;
}

TransmitStatus exchange(HidHostSession& session, const Buffer& apdu, Buffer& response) {
  response.assign(protocol::kMaxResponseApdu, 0);
  std::size_t length = 0;
  const TransmitStatus status = session.transceive(
      Bytes(apdu.data(), apdu.size()), MutableBytes(response.data(), response.size()), length);
  response.resize(length);
  return status;
}

TEST(HidHostSession, StartsAChannelAndCarriesTheLargestApduBothWays) {
  DeviceEnd device([](const Buffer& apdu) {
    Buffer out(apdu.begin(), apdu.begin() + 4000);
    out.push_back(0x90);
    out.push_back(0x00);
    return out;
  });
  SocketReportLink link(device.path());
  ASSERT_TRUE(link.open());
  HidHostSession session(link);
  ASSERT_EQ(session.start(), TransmitStatus::ok);
  Buffer apdu(hid::kMaxMessage), response;
  for (std::size_t i = 0; i < apdu.size(); ++i) apdu[i] = static_cast<std::uint8_t>(i * 7);
  ASSERT_EQ(exchange(session, apdu, response), TransmitStatus::ok);
  ASSERT_EQ(response.size(), 4002u);
  EXPECT_TRUE(std::equal(response.begin(), response.begin() + 4000, apdu.begin()));
}

TEST(HidHostSession, KeepalivesExtendTheWait) {
  DeviceEnd device(echo_with_9000);
  device.set_keepalives(5);
  SocketReportLink link(device.path());
  ASSERT_TRUE(link.open());
  HidHostSession session(link);
  ASSERT_EQ(session.start(), TransmitStatus::ok);
  Buffer response;
  ASSERT_EQ(exchange(session, {0x00, 0x47, 0x00, 0x9A}, response), TransmitStatus::ok);
  EXPECT_EQ(response, (Buffer{0x00, 0x47, 0x00, 0x9A, 0x90, 0x00}));
  EXPECT_EQ(session.keepalives(), 5u);
}

TEST(HidHostSession, ASessionReplacedByANewInitGetsAnErrorFrame) {
  DeviceEnd device(echo_with_9000);
  SocketReportLink link(device.path());
  ASSERT_TRUE(link.open());
  HidHostSession old_session(link), new_session(link);
  ASSERT_EQ(old_session.start(), TransmitStatus::ok);
  ASSERT_EQ(new_session.start(), TransmitStatus::ok);  // the token resets: the old channel is dead
  Buffer response;
  // Out of step: the old session's card state is gone, so the driver reports the key gone.
  EXPECT_EQ(exchange(old_session, {0x00, 0xA4, 0x04, 0x00}, response), TransmitStatus::gone);
  EXPECT_FALSE(old_session.started());
  EXPECT_EQ(exchange(new_session, {0x00, 0xA4, 0x04, 0x00}, response), TransmitStatus::ok);
}

TEST(HidHostSession, AnApduTooLongForTheFraming_IsRefusedAndTheSessionGoesOn) {
  DeviceEnd device(echo_with_9000);
  SocketReportLink link(device.path());
  ASSERT_TRUE(link.open());
  HidHostSession session(link);
  ASSERT_EQ(session.start(), TransmitStatus::ok);
  Buffer response;
  EXPECT_EQ(exchange(session, Buffer(hid::kMaxMessage + 1, 0x00), response),
            TransmitStatus::failed);
  EXPECT_TRUE(session.started());
  EXPECT_EQ(exchange(session, {0x00, 0xA4, 0x04, 0x00}, response), TransmitStatus::ok);
}

TEST(HidHostSession, NothingIsSentBeforeInit) {
  DeviceEnd device(echo_with_9000);
  SocketReportLink link(device.path());
  ASSERT_TRUE(link.open());
  HidHostSession session(link);
  Buffer response;
  EXPECT_EQ(exchange(session, {0x00, 0xA4, 0x04, 0x00}, response), TransmitStatus::failed);
}

TEST(HidHostSession, APulledKeyIsGone) {
  DeviceEnd device(echo_with_9000);
  SocketReportLink link(device.path());
  ASSERT_TRUE(link.open());
  HidHostSession session(link);
  ASSERT_EQ(session.start(), TransmitStatus::ok);
  EXPECT_TRUE(link.alive());
  device.unplug();
  Buffer response;
  EXPECT_EQ(exchange(session, {0x00, 0xA4, 0x04, 0x00}, response), TransmitStatus::gone);
  EXPECT_FALSE(link.alive());
}

TEST(SocketReportLink, NoSimulatorListening_IsNoKey) {
  SocketReportLink link(::testing::TempDir() + "no-such-usbkey-socket");
  EXPECT_FALSE(link.open());
  EXPECT_FALSE(link.alive());
  std::uint8_t report[hid::kReportSize] = {};
  EXPECT_FALSE(link.write_report(Bytes(report, sizeof report)));
}

}  // namespace
}  // namespace certkey::drivers::usbkey
