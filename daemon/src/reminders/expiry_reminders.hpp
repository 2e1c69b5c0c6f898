// Reminds the holder of certificates about to expire (docs/daemon.md, "Expiry reminders";
// the CA rules remind from 30 days before). A token is checked when it is inserted (so every
// token present at start-up), and every token once a day at local midnight, by a timer.
// Each check that finds certificates due emits certificateExpiring; a desktop notification
// is shown at most once per certificate per day. All of it runs on a thread of its own, so
// a slow notification server holds nothing else up.
#pragma once
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/system_timer.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "reminders/desktop_notifier.hpp"
#include "state/reminder_store.hpp"
#include "tokens/token_registry.hpp"
#include "views/language.hpp"

namespace certkey::daemon {

class ExpiryReminders {
 public:
  using Snapshot = std::function<std::shared_ptr<const TokenSnapshot>()>;
  // certificateExpiring's data (the OpenAPI file's CertificateExpiringEvent).
  using Publish = std::function<void(const nlohmann::json& data)>;

  ExpiryReminders(Snapshot snapshot, ReminderStore& store, unsigned days_before_expiry,
                  Publish publish);
  ~ExpiryReminders();
  ExpiryReminders(const ExpiryReminders&) = delete;
  ExpiryReminders& operator=(const ExpiryReminders&) = delete;

  // Queues a check of the token (it may have gone by then: nothing happens).
  void check(std::uint32_t serial);
  // Ends the timer and the thread; what is queued is dropped.
  void stop();

 private:
  void check_now(const TokenState& token);
  void arm_daily_check();

  Snapshot snapshot_;
  ReminderStore& store_;
  unsigned days_;
  Publish publish_;
  Language language_;
  DesktopNotifier notifier_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::system_timer daily_;
  std::thread thread_;
};

}  // namespace certkey::daemon
