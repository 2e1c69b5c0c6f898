// Chinese reader names (common in this market) that the PKCS#11 module cuts at 64 bytes, so
// that the cut would fall inside a character: the daemon lists them as valid UTF-8 and stays
// up (DESIGN.md section 6, item 7). Runs in tests/harness/with-tokens with a reader name of
// 93 bytes whose 65th byte is inside a character (tests/integration/CMakeLists.txt).
#include "daemon_harness.hpp"

namespace certkey::test {
namespace {

TEST(ReaderNames, ChineseNameCutByTheModule_ListsCleanly_AndTheDaemonStaysUp) {
  const std::string reader = env("CERTKEY_READERS").substr(0, env("CERTKEY_READERS").find('\n'));
  ASSERT_GT(reader.size(), 64u);
  ASSERT_EQ(static_cast<unsigned char>(reader[64]) & 0xC0, 0x80)
      << "the 65th byte continues a character";
  Daemon daemon;
  Http page(daemon.port);
  for (int i = 0; i < 3; ++i) {
    const HttpResponse r = page.get("/v1/tokens");
    ASSERT_EQ(r.status, 200u) << r.body;
    const json list = r.body_json();
    ASSERT_FALSE(list.is_discarded()) << "valid JSON (and so valid UTF-8)";
    ASSERT_FALSE(list["tokens"].empty());
    const std::string shown = list["tokens"][0]["reader"];
    EXPECT_LE(shown.size(), 64u);
    EXPECT_EQ(reader.compare(0, shown.size(), shown), 0)
        << "a prefix of the reader's name, cut between characters";
    EXPECT_TRUE(conforms("/v1/tokens", "get", 200, list));
  }
  WsClient ws(daemon.port);
  EXPECT_EQ(ws.call("listTokens")["status"], 200);
  EXPECT_TRUE(daemon.running());
}

}  // namespace
}  // namespace certkey::test
