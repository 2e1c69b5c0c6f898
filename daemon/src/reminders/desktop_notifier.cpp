#include "reminders/desktop_notifier.hpp"

#include <chrono>
#include <map>
#include <sdbus-c++/sdbus-c++.h>
#include <vector>

namespace certkey::daemon {
namespace {

constexpr char kService[] = "org.freedesktop.Notifications";
constexpr char kPath[] = "/org/freedesktop/Notifications";
constexpr auto kCallTimeout = std::chrono::seconds(5);

}  // namespace

DesktopNotifier::DesktopNotifier() = default;
DesktopNotifier::~DesktopNotifier() = default;

void DesktopNotifier::connect() {
  connection_ = sdbus::createSessionBusConnection();
  proxy_ = sdbus::createProxy(*connection_, kService, kPath);
}

bool DesktopNotifier::notify(const std::string& summary, const std::string& body,
                             std::string& why) {
  try {
    if (!proxy_) connect();
    // Notify(app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout).
    const std::map<std::string, sdbus::Variant> hints = {
        {"urgency", sdbus::Variant(std::uint8_t{1})},
        {"desktop-entry", sdbus::Variant(std::string("certkey"))}};
    std::uint32_t id = 0;
    proxy_->callMethod("Notify")
        .onInterface(kService)
        .withTimeout(kCallTimeout)
        .withArguments(std::string("certkey"), std::uint32_t{0}, std::string("security-high"),
                       summary, body, std::vector<std::string>{}, hints, std::int32_t{-1})
        .storeResultsTo(id);
    return true;
  } catch (const sdbus::Error& e) {
    why = e.getName() + ": " + e.getMessage();
    proxy_.reset();
    connection_.reset();
    return false;
  }
}

}  // namespace certkey::daemon
