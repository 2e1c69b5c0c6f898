// Desktop notifications through org.freedesktop.Notifications on the session D-Bus (the
// Desktop Notifications Specification), with sdbus-c++. Where there is no session bus, or
// nothing owns the name, notify() says so and nothing else happens.
#pragma once
#include <memory>
#include <string>

namespace sdbus {
class IConnection;
class IProxy;
}  // namespace sdbus

namespace certkey::daemon {

class DesktopNotifier {
 public:
  DesktopNotifier();
  ~DesktopNotifier();
  DesktopNotifier(const DesktopNotifier&) = delete;
  DesktopNotifier& operator=(const DesktopNotifier&) = delete;

  // Shows one notification; false (with `why`) when it could not. Blocks for at most the
  // call's timeout; the caller runs it on a thread of its own.
  bool notify(const std::string& summary, const std::string& body, std::string& why);

 private:
  // The bus is joined at the first notification, and again after a failure: the session
  // may start after the daemon (a login after boot).
  void connect();

  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IProxy> proxy_;
};

}  // namespace certkey::daemon
