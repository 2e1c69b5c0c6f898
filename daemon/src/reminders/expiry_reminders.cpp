#include "reminders/expiry_reminders.hpp"

#include <boost/asio/post.hpp>
#include <cstdio>

#include "reminders/expiry.hpp"

namespace certkey::daemon {
namespace {

constexpr std::time_t kKeptDays = 7;  // reminder rows older than this are pruned

void say(const std::string& text) { std::fprintf(stderr, "certkeyd: %s\n", text.c_str()); }

}  // namespace

ExpiryReminders::ExpiryReminders(Snapshot snapshot, ReminderStore& store,
                                 unsigned days_before_expiry, Publish publish)
    : snapshot_(std::move(snapshot)),
      store_(store),
      days_(days_before_expiry),
      publish_(std::move(publish)),
      language_(language_from_environment()),
      work_(io_.get_executor()),
      daily_(io_) {
  arm_daily_check();
  thread_ = std::thread([this] { io_.run(); });
}

ExpiryReminders::~ExpiryReminders() { stop(); }

void ExpiryReminders::stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
}

void ExpiryReminders::check(std::uint32_t serial) {
  boost::asio::post(io_, [this, serial] {
    const std::shared_ptr<const TokenSnapshot> snapshot = snapshot_();
    if (const TokenState* token = snapshot->find(serial)) check_now(*token);
  });
}

void ExpiryReminders::arm_daily_check() {
  daily_.expires_at(next_local_midnight(std::time(nullptr)));
  daily_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    const std::shared_ptr<const TokenSnapshot> snapshot = snapshot_();
    for (const TokenState& token : snapshot->tokens) check_now(token);
    arm_daily_check();
  });
}

// The day's reminder is taken in the database before the notification is shown, and given
// back if it could not be: a crash in between costs that day's notification, never a second.
void ExpiryReminders::check_now(const TokenState& token) {
  const std::time_t now = std::time(nullptr);
  const std::vector<ExpiringCertificate> due = expiring_certificates(token, now, days_);
  if (due.empty()) return;
  const std::string today = local_day(now), oldest_kept = local_day(now - kKeptDays * 86400);
  nlohmann::json certificates = nlohmann::json::array();
  for (const ExpiringCertificate& c : due) {
    bool notified = false;
    try {
      if (store_.claim(c.fingerprint, today, token.serial, c.id, oldest_kept)) {
        const DesktopNotification n = reminder_notification(c, token, language_);
        std::string why;
        notified = notifier_.notify(n.summary, n.body, why);
        if (!notified) {
          store_.release(c.fingerprint, today);
          say("no desktop reminder for certificate " + c.id + " of token " +
              std::to_string(token.serial) + " (" + why + ")");
        }
      }
    } catch (const std::exception& e) {
      say("expiry reminder for token " + std::to_string(token.serial) + ": " + e.what());
    }
    certificates.push_back({{"id", c.id},
                            {"subject", c.subject},
                            {"not_after", c.not_after},
                            {"days_left", c.days_left},
                            {"notified", notified}});
  }
  publish_({{"token", token.serial}, {"certificates", std::move(certificates)}});
}

}  // namespace certkey::daemon
