// The daemon's error table (daemon/src/core/error_code.*): every code has its name, status,
// both messages and both hints, and the names are unique (clients test for them).
#include "core/error_code.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

namespace certkey::daemon {
namespace {

TEST(ErrorTable, EveryCodeIsComplete_AndNamesAreUnique) {
  std::set<std::string_view> names;
  for (const ErrorInfo& e : all_errors()) {
    EXPECT_FALSE(e.name.empty());
    EXPECT_TRUE(names.insert(e.name).second) << e.name;
    EXPECT_GE(e.http_status, 400u) << e.name;
    EXPECT_LT(e.http_status, 600u) << e.name;
    EXPECT_FALSE(e.message_en.empty()) << e.name;
    EXPECT_FALSE(e.message_zh.empty()) << e.name;
    EXPECT_FALSE(e.hint_en.empty()) << e.name;
    EXPECT_FALSE(e.hint_zh.empty()) << e.name;
    EXPECT_EQ(&error_info(e.code), &e);
  }
}

TEST(ErrorTable, BodyCarriesCodeMessagesHintAndDetail) {
  nlohmann::json body = error_body(ErrorCode::pin_locked, "slot 9a");
  EXPECT_EQ(body["error"]["code"], "pin_locked");
  EXPECT_EQ(body["error"]["message_zh"], "PIN 码已锁定。");
  EXPECT_EQ(body["error"]["detail"], "slot 9a");
  EXPECT_EQ(body["error"]["hint_zh"], "请用 PUK 码或通过证书颁发机构的客服解锁 PIN 码。");
  EXPECT_FALSE(error_body(ErrorCode::not_found)["error"].contains("detail"));
}

}  // namespace
}  // namespace certkey::daemon

namespace certkey::daemon {
namespace {

// The OpenAPI description lists exactly the codes of the table.
TEST(ErrorTable, MatchesTheOpenApiDescription) {
  std::ifstream in(CERTKEY_OPENAPI_FILE);
  ASSERT_TRUE(in) << CERTKEY_OPENAPI_FILE;
  const nlohmann::json spec = nlohmann::json::parse(in);
  std::set<std::string> documented, table;
  for (const auto& name : spec["components"]["schemas"]["ErrorCode"]["enum"])
    documented.insert(name.get<std::string>());
  for (const ErrorInfo& e : all_errors()) table.insert(std::string(e.name));
  EXPECT_EQ(documented, table);
}

}  // namespace
}  // namespace certkey::daemon
