// certkeyd's configuration file (daemon/src/config/config.*, docs/daemon.md "Configuration"):
// every key is read, and the file is read strictly: an unknown key, a wrong type, a value out
// of range or an origin not as browsers send it is an error naming the file, line and key.
#include "config/config.hpp"

#include <gtest/gtest.h>

namespace certkey::daemon {
namespace {

using std::chrono::seconds;

constexpr char kSource[] = "certkeyd.toml";

const char kFullExample[] = R"(port = 18500
allowed_origins = ["https://ca.example.cn", "https://ra.example.cn:8443", "http://localhost:8080"]

[pin]
program = "/usr/bin/pinentry-gnome3"
timeout_seconds = 90
legacy_origins = ["https://ra.example.cn:8443"]

[trust]
anchors = ["/etc/certkey/root.pem"]
intermediates = ["/etc/certkey/issuing-1.pem", "/etc/certkey/issuing-2.pem"]

[reminders]
days_before_expiry = 45

[retention]
audit_days = 90

[limits]
max_connections = 64
max_websockets = 8
request_timeout_seconds = 20
state_changes_per_minute = 5

[deadlines]
operation_seconds = 600
shutdown_seconds = 3
)";

Origin origin(const char* text) { return Origin::parse(text).value(); }

// The message of the ConfigError `text` raises; fails the test when it parses.
std::string error_of(const std::string& text) {
  try {
    parse_config(text, kSource);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return {};
}

// The message names the file and line ("certkeyd.toml:3:") and contains `what`.
void expect_error(const std::string& text, int line, const std::string& what) {
  const std::string message = error_of(text);
  EXPECT_EQ(message.rfind(std::string(kSource) + ":" + std::to_string(line) + ":", 0), 0u)
      << message;
  EXPECT_NE(message.find(what), std::string::npos) << message;
}

TEST(Config, EmptyText_GivesTheDefaults) {
  const Config c = parse_config("", kSource);
  EXPECT_EQ(c.port, kDefaultPort);
  EXPECT_TRUE(c.allowed_origins.empty());
  EXPECT_TRUE(c.legacy_pin_origins.empty());
  EXPECT_EQ(c.pinentry, "pinentry");
  EXPECT_EQ(c.pin_timeout, seconds(60));
  EXPECT_TRUE(c.trust_anchors.empty());
  EXPECT_TRUE(c.intermediates.empty());
  EXPECT_EQ(c.reminder_days, 30u);
  EXPECT_EQ(c.audit_retention_days, 365u);
  EXPECT_EQ(c.limits.max_connections, 128u);
  EXPECT_EQ(c.limits.max_websockets, 32u);
  EXPECT_EQ(c.limits.request_timeout, seconds(10));
  EXPECT_EQ(c.limits.state_changes_per_minute, 10u);
  EXPECT_EQ(c.operation_deadline, seconds(300));
  EXPECT_EQ(c.shutdown_deadline, seconds(10));
}

TEST(Config, FullExample_SetsEveryKey) {
  const Config c = parse_config(kFullExample, kSource);
  EXPECT_EQ(c.port, 18500u);
  EXPECT_EQ(c.allowed_origins, (std::vector<Origin>{origin("https://ca.example.cn"),
                                                    origin("https://ra.example.cn:8443"),
                                                    origin("http://localhost:8080")}));
  EXPECT_EQ(c.pinentry, "/usr/bin/pinentry-gnome3");
  EXPECT_EQ(c.pin_timeout, seconds(90));
  EXPECT_EQ(c.legacy_pin_origins, std::vector<Origin>{origin("https://ra.example.cn:8443")});
  EXPECT_EQ(c.trust_anchors, std::vector<std::string>{"/etc/certkey/root.pem"});
  EXPECT_EQ(c.intermediates,
            (std::vector<std::string>{"/etc/certkey/issuing-1.pem", "/etc/certkey/issuing-2.pem"}));
  EXPECT_EQ(c.reminder_days, 45u);
  EXPECT_EQ(c.audit_retention_days, 90u);
  EXPECT_EQ(c.limits.max_connections, 64u);
  EXPECT_EQ(c.limits.max_websockets, 8u);
  EXPECT_EQ(c.limits.request_timeout, seconds(20));
  EXPECT_EQ(c.limits.state_changes_per_minute, 5u);
  EXPECT_EQ(c.operation_deadline, seconds(600));
  EXPECT_EQ(c.shutdown_deadline, seconds(3));
}

TEST(Config, UnknownKey_IsAnErrorNamingFileLineAndKey) {
  expect_error("port = 1\nprot = 2\n", 2, "prot");
  expect_error("[pin]\nprogram = \"p\"\nprogam = \"p\"\n", 3, "pin.progam");
  expect_error("[limits]\nmax_conections = 5\n", 2, "limits.max_conections");
  expect_error("[audit]\ndays = 5\n", 1, "audit");
}

TEST(Config, WrongType_IsAnErrorNamingFileLineAndKey) {
  expect_error("port = \"18456\"\n", 1, "port");
  expect_error("\n[limits]\nmax_websockets = 2.0\n", 3, "limits.max_websockets");
  expect_error("allowed_origins = \"https://ca.example.cn\"\n", 1, "allowed_origins");
  expect_error("[trust]\nanchors = [\"/a.pem\", 3]\n", 2, "trust.anchors");
  expect_error("[pin]\nprogram = \"\"\n", 2, "pin.program");
  expect_error("pin = 5\n", 1, "pin");
}

TEST(Config, ValueOutOfRange_IsAnErrorNamingFileLineAndKey) {
  expect_error("port = 65536\n", 1, "port");
  expect_error("port = -1\n", 1, "port");
  expect_error("[pin]\ntimeout_seconds = 0\n", 2, "pin.timeout_seconds");
  expect_error("[pin]\ntimeout_seconds = 3601\n", 2, "pin.timeout_seconds");
  expect_error("[limits]\nmax_connections = 3\n", 2, "limits.max_connections");
  expect_error("[reminders]\ndays_before_expiry = 0\n", 2, "reminders.days_before_expiry");
  expect_error("[deadlines]\noperation_seconds = 3601\n", 2, "deadlines.operation_seconds");
  expect_error("[deadlines]\nshutdown_seconds = 301\n", 2, "deadlines.shutdown_seconds");
  expect_error("[retention]\naudit_days = 0\n", 2, "retention.audit_days");
}

TEST(Config, OriginNotAsBrowsersSendIt_IsAnErrorNamingFileLineAndKey) {
  for (const char* text : {"https://ca.example.cn:443", "https://ca.example.cn/", "null",
                           "http://ca.example.cn", "https://CA.example.cn"}) {
    expect_error("port = 1\nallowed_origins = [\"" + std::string(text) + "\"]\n", 2,
                 "allowed_origins");
    EXPECT_NE(error_of("allowed_origins = [\"" + std::string(text) + "\"]").find(text),
              std::string::npos);
  }
}

// Named by file and key (the check runs after the list is read, so without its line).
TEST(Config, LegacyPinOriginNotAllowed_IsAnErrorNamingFileAndKey) {
  const std::string message = error_of(
      "allowed_origins = [\"https://ca.example.cn\"]\n[pin]\n"
      "legacy_origins = [\"https://other.example.cn\"]\n");
  EXPECT_EQ(message.rfind(kSource, 0), 0u) << message;
  EXPECT_NE(message.find("pin.legacy_origins"), std::string::npos) << message;
  EXPECT_NE(message.find("https://other.example.cn"), std::string::npos) << message;
}

TEST(Config, TomlSyntaxError_IsAnErrorNamingFileAndLine) {
  expect_error("port = 1\n[limits\n", 2, "");
  expect_error("port = 1\nport = 2\n", 2, "");
}

TEST(Config, Allows_ExactlyTheListedOrigins_AndPinsOnlyFromLegacyOrigins) {
  const Config c = parse_config(kFullExample, kSource);
  EXPECT_TRUE(c.allows(origin("https://ca.example.cn")));
  EXPECT_TRUE(c.allows(origin("https://ra.example.cn:8443")));
  EXPECT_FALSE(c.allows(origin("https://ra.example.cn")));
  EXPECT_FALSE(c.allows(origin("https://evil.example.cn")));
  EXPECT_TRUE(c.accepts_pin_from(origin("https://ra.example.cn:8443")));
  EXPECT_FALSE(c.accepts_pin_from(origin("https://ca.example.cn")));
}

}  // namespace
}  // namespace certkey::daemon
