// certkeyd's command line (daemon/src/app/options.*, docs/daemon.md "Running it"): every
// option is read, --allow-origin repeats, and a mistake is a UsageError; the usage text
// lists every option.
#include "app/options.hpp"

#include <gtest/gtest.h>

namespace certkey::daemon {
namespace {

std::string error_of(const std::vector<std::string>& args) {
  try {
    parse_options(args);
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << (args.empty() ? "" : args.front());
  return {};
}

TEST(Options, NoArguments_SetsNothing) {
  const Options o = parse_options({});
  EXPECT_FALSE(o.config_file);
  EXPECT_FALSE(o.allowed_origins);
  EXPECT_FALSE(o.port);
  EXPECT_TRUE(o.port_file.empty());
  EXPECT_FALSE(o.state_dir);
  EXPECT_FALSE(o.module);
  EXPECT_FALSE(o.socket);
  EXPECT_FALSE(o.help);
  EXPECT_FALSE(o.version);
}

TEST(Options, EveryOption_IsRead) {
  const Options o =
      parse_options({"--config", "/etc/c.toml", "--allow-origin", "https://ca.example.cn", "--port",
                     "8080", "--port-file", "/tmp/port", "--state-dir", "/tmp/s", "--module",
                     "/lib/m.so", "--socket", "/tmp/s.sock"});
  EXPECT_EQ(o.config_file, "/etc/c.toml");
  ASSERT_TRUE(o.allowed_origins);
  EXPECT_EQ(*o.allowed_origins, std::vector<Origin>{*Origin::parse("https://ca.example.cn")});
  EXPECT_EQ(o.port, 8080u);
  EXPECT_EQ(o.port_file, "/tmp/port");
  EXPECT_EQ(o.state_dir, "/tmp/s");
  EXPECT_EQ(o.module, "/lib/m.so");
  EXPECT_EQ(o.socket, "/tmp/s.sock");
}

TEST(Options, AllowOrigin_Repeats) {
  const Options o = parse_options(
      {"--allow-origin", "https://ca.example.cn", "--allow-origin", "http://localhost:8080"});
  ASSERT_TRUE(o.allowed_origins);
  EXPECT_EQ(*o.allowed_origins, (std::vector<Origin>{*Origin::parse("https://ca.example.cn"),
                                                     *Origin::parse("http://localhost:8080")}));
}

TEST(Options, HelpAndVersion_TakeNoValue) {
  EXPECT_TRUE(parse_options({"--help"}).help);
  EXPECT_TRUE(parse_options({"-h"}).help);
  EXPECT_TRUE(parse_options({"--version"}).version);
  const Options o = parse_options({"--version", "--port", "0"});
  EXPECT_TRUE(o.version);
  EXPECT_EQ(o.port, 0u);
}

TEST(Options, UnknownOption_IsAUsageError) {
  EXPECT_NE(error_of({"--frobnicate", "1"}).find("--frobnicate"), std::string::npos);
  EXPECT_NE(error_of({"stray"}).find("stray"), std::string::npos);
}

TEST(Options, MissingValue_IsAUsageError) {
  for (const char* name : {"--config", "--allow-origin", "--port", "--port-file", "--state-dir",
                           "--module", "--socket"}) {
    EXPECT_NE(error_of({name}).find(name), std::string::npos) << name;
  }
}

TEST(Options, BadPort_IsAUsageError) {
  for (const char* port : {"", "65536", "-1", "+1", "80a", "123456", " 80", "0x50"}) {
    EXPECT_NE(error_of({"--port", port}).find("--port"), std::string::npos) << port;
  }
  EXPECT_EQ(parse_options({"--port", "65535"}).port, 65535u);
}

TEST(Options, OriginNotAsBrowsersSendIt_IsAUsageError) {
  for (const char* origin : {"https://ca.example.cn/", "https://ca.example.cn:443", "null",
                             "http://ca.example.cn", "ca.example.cn"}) {
    EXPECT_NE(error_of({"--allow-origin", origin}).find(origin), std::string::npos) << origin;
  }
}

TEST(Options, UsageText_MentionsEveryOption) {
  const std::string usage = usage_text();
  for (const char* name : {"--config", "--allow-origin", "--port", "--port-file", "--state-dir",
                           "--module", "--socket", "--help", "--version"}) {
    EXPECT_NE(usage.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace certkey::daemon
