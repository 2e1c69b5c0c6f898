// Expiry reminders (docs/daemon.md, "Expiry reminders") on a session D-Bus the test starts,
// with a notification server of its own (tests/harness/notification_listener.cpp) owning
// org.freedesktop.Notifications. The token holds a certificate 20 days from expiry in 01
// (9A) and one 40 days out in 03 (9D): only the first is reminded of, once a day, and a
// restart of the daemon on the same day shows nothing new. Waits are on the daemon's events
// and the listener's lines; a check is known to be finished when its certificateExpiring
// event arrives, because the notification call returns before the event is sent.
#include <ctime>

#include "daemon_renewal_fixture.hpp"
#include "session_bus.hpp"

namespace certkey::test {
namespace {

// YYYYMMDDHHMMSSZ, `days` days and an hour from now: whole days left are exactly `days`.
std::string days_from_now(int days) {
  const std::time_t t = std::time(nullptr) + static_cast<std::time_t>(days) * 86400 + 3600;
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d%H%M%SZ", &utc);
  return text;
}

class Reminders : public RenewalFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(find_token("usbkey"));
    TestCa::Options soon, later;
    soon.end = days_from_now(20);
    later.end = days_from_now(40);
    provision_certificate(serial_, "Reminded Holder", ca_, soon, "01");
    provision_certificate(serial_, "Later Holder", ca_, later, "03");
    bus_ = std::make_unique<SessionBus>(build_dir() + "/tests/harness/notification-listener");
    options_.session_bus = bus_->address;
  }
  void TearDown() override {
    RenewalFixture::TearDown();
    bus_.reset();
  }

  // Pulls the token, puts it back, and returns the certificateExpiring event its check sent
  // (null if the daemon sent none before the token's next event).
  json reinsert_and_wait_for_reminder_check() {
    pull();
    UnixClient events(daemon_->socket_path);
    EXPECT_EQ(events.call("watchEvents")["status"], 200);
    sim("insert " + token_name_);
    for (;;) {
      json event = events.next_event();
      if (event.is_null() || event["event"] == "certificateExpiring") return event;
    }
  }

  std::unique_ptr<SessionBus> bus_;
};

TEST_F(Reminders, TwentyDaysOut_OneNotificationADay_RestartShowsNone_FortyDaysOutNever) {
  start_daemon();
  // The check of the token present at start-up.
  const json shown = bus_->next_notification();
  EXPECT_EQ(shown["app_name"], "certkey");
  EXPECT_EQ(shown["summary"], "Certificate expires in 20 days") << shown;
  EXPECT_NE(shown["body"].get<std::string>().find("CN=Reminded Holder"), std::string::npos)
      << shown;
  EXPECT_NE(shown["body"].get<std::string>().find("USB KEY " + std::to_string(serial_)),
            std::string::npos)
      << shown;
  EXPECT_NE(shown["body"].get<std::string>().find("certkey renew"), std::string::npos) << shown;

  // Inserted again the same day: the event, no second notification, nothing for 03.
  json event = reinsert_and_wait_for_reminder_check();
  ASSERT_FALSE(event.is_null()) << daemon_->log();
  EXPECT_TRUE(conforms_to_schema("EventMessage", event)) << event;
  EXPECT_EQ(event["data"]["token"], serial_);
  ASSERT_EQ(event["data"]["certificates"].size(), 1u) << event;
  const json& reminded = event["data"]["certificates"][0];
  EXPECT_EQ(reminded["id"], "01");
  EXPECT_EQ(reminded["days_left"], 20);
  EXPECT_EQ(reminded["notified"], false) << "once a day";
  EXPECT_FALSE(bus_->more_notifications()) << bus_->next_notification();

  // A restart on the same day: its start-up check and an insertion, and still nothing shown.
  restart_daemon();
  event = reinsert_and_wait_for_reminder_check();
  ASSERT_FALSE(event.is_null()) << daemon_->log();
  EXPECT_EQ(event["data"]["certificates"][0]["notified"], false);
  EXPECT_FALSE(bus_->more_notifications()) << bus_->next_notification();
}

TEST_F(Reminders, InChinese_WhenTheSessionsLanguageIsChinese) {
  options_.language =
      "zh_CN.UTF-8";  // not generated on the machine: the text is chosen as a string
  start_daemon();
  const json shown = bus_->next_notification();
  EXPECT_EQ(shown["summary"], "证书将在 20 天后到期") << shown;
  EXPECT_NE(shown["body"].get<std::string>().find("certkey renew"), std::string::npos) << shown;
}

TEST_F(Reminders, WithoutASessionBus_TheEventStillComes_AndTheNotificationWaitsForOne) {
  options_.session_bus.clear();
  start_daemon();
  json event = reinsert_and_wait_for_reminder_check();
  ASSERT_FALSE(event.is_null()) << daemon_->log();
  EXPECT_EQ(event["data"]["certificates"][0]["notified"], false);
  EXPECT_NE(daemon_->log().find("no desktop reminder for certificate 01"), std::string::npos)
      << daemon_->log();

  // With a session bus the same day, the notification not shown earlier is shown now.
  options_.session_bus = bus_->address;
  restart_daemon();
  EXPECT_EQ(bus_->next_notification()["summary"], "Certificate expires in 20 days");
}

}  // namespace
}  // namespace certkey::test
