// A desktop notification server for tests: owns org.freedesktop.Notifications on the session
// bus (DBUS_SESSION_BUS_ADDRESS) and prints each notification it is sent as one JSON line on
// standard output, flushed before it answers. Prints {"ready": true} first, once it owns the
// name, so a test waits on lines and never on time.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <vector>

namespace {

constexpr char kInterface[] = "org.freedesktop.Notifications";

void print_line(const nlohmann::json& line) {
  std::fputs((line.dump() + "\n").c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main() {
  auto connection = sdbus::createSessionBusConnection(kInterface);
  auto object = sdbus::createObject(*connection, "/org/freedesktop/Notifications");
  std::uint32_t next_id = 1;
  object->registerMethod("Notify")
      .onInterface(kInterface)
      .implementedAs([&](const std::string& app_name, std::uint32_t, const std::string& icon,
                         const std::string& summary, const std::string& body,
                         const std::vector<std::string>&,
                         const std::map<std::string, sdbus::Variant>& hints, std::int32_t timeout) {
        nlohmann::json line = {{"app_name", app_name}, {"icon", icon},       {"summary", summary},
                               {"body", body},         {"timeout", timeout}, {"id", next_id}};
        if (const auto u = hints.find("urgency"); u != hints.end())
          line["urgency"] = u->second.get<std::uint8_t>();
        print_line(line);
        return next_id++;
      });
  object->registerMethod("GetCapabilities").onInterface(kInterface).implementedAs([] {
    return std::vector<std::string>{"body"};
  });
  object->registerMethod("GetServerInformation").onInterface(kInterface).implementedAs([] {
    return std::make_tuple(std::string("certkey-test"), std::string("certkey"), std::string("1"),
                           std::string("1.2"));
  });
  object->finishRegistration();
  print_line({{"ready", true}});
  connection->enterEventLoop();
}
