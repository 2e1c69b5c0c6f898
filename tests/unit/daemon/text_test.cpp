// Outside text made safe to show (daemon/src/views/text.*): every ill-formed UTF-8 sequence
// of RFC 3629 becomes U+FFFD, text is cut on a character boundary, and serialising JSON
// never throws (DESIGN.md section 6, security model item 7).
#include "views/text.hpp"

#include <gtest/gtest.h>

namespace certkey::daemon {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::size_t kLots = 1000;

// `out` is `before`, then one or more U+FFFD, then `after`.
void expect_replaced(const std::string& out, const std::string& before, const std::string& after) {
  ASSERT_GE(out.size(), before.size() + kReplacement.size() + after.size()) << out;
  EXPECT_EQ(out.substr(0, before.size()), before);
  EXPECT_EQ(out.substr(out.size() - after.size()), after);
  std::string middle = out.substr(before.size(), out.size() - before.size() - after.size());
  EXPECT_EQ(middle.size() % kReplacement.size(), 0u) << out;
  for (std::size_t i = 0; i < middle.size(); i += kReplacement.size()) {
    EXPECT_EQ(middle.substr(i, kReplacement.size()), kReplacement) << out;
  }
}

// `bad` between two letters, and at the end of the text, is replaced.
void expect_replaced(const std::string& bad) {
  expect_replaced(display_text("a" + bad + "b", kLots), "a", "b");
  expect_replaced(display_text("a" + bad, kLots), "a", "");
}

TEST(DisplayText, ValidUtf8_IsUnchanged) {
  const std::string text = "Alice 张三 \xF0\x9F\x94\x91 \xC3\xA9 \xEF\xBF\xBF \xF4\x8F\xBF\xBF";
  EXPECT_EQ(display_text(text, kLots), text);
  EXPECT_EQ(display_text("", kLots), "");
}

TEST(DisplayText, OverlongForms_BecomeReplacementCharacters) {
  expect_replaced("\xC0\xAF");          // '/' in two bytes
  expect_replaced("\xE0\x80\xAF");      // in three
  expect_replaced("\xF0\x80\x80\xAF");  // in four
}

TEST(DisplayText, Surrogates_BecomeReplacementCharacters) {
  expect_replaced("\xED\xA0\x80");  // U+D800
  expect_replaced("\xED\xBF\xBF");  // U+DFFF
}

TEST(DisplayText, CodePointsPastU10FFFF_BecomeReplacementCharacters) {
  expect_replaced("\xF4\x90\x80\x80");  // U+110000
  expect_replaced("\xF5\x80\x80\x80");
  expect_replaced("\xFF");
}

TEST(DisplayText, TruncatedSequences_BecomeReplacementCharacters) {
  expect_replaced("\xE5\xBC");  // 张 without its last byte
  expect_replaced("\xF0\x9F\x94");
}

TEST(DisplayText, StrayContinuationBytes_BecomeReplacementCharacters) {
  expect_replaced("\x80");
  expect_replaced("\xBF\xBF");
}

TEST(DisplayText, ChineseTextCutAt64Bytes_EndsOnACharacterBoundary) {
  std::string text;
  for (int i = 0; i < 10; ++i) text += "张三的证书";  // 3 bytes a character, 150 in all
  const std::string out = display_text(text, 64);
  EXPECT_LE(out.size(), 64u);
  EXPECT_EQ(out.size() % 3, 0u);
  EXPECT_EQ(text.substr(0, out.size()), out);
  EXPECT_EQ(display_text(out, kLots), out);  // still valid UTF-8
}

TEST(DisplayText, Replacements_CountTowardsTheBound) {
  const std::string out = display_text(std::string(100, '\xFF'), 10);
  EXPECT_EQ(out, kReplacement + kReplacement + kReplacement);
}

TEST(JsonText, InvalidUtf8InAValue_IsReplacedNotThrown) {
  const nlohmann::json value = {{"label", "a\xFF\xC0 b"}, {"\xED\xA0\x80", 1}};
  std::string text;
  EXPECT_NO_THROW(text = json_text(value));
  EXPECT_NE(text.find(kReplacement), std::string::npos) << text;
  EXPECT_TRUE(nlohmann::json::accept(text)) << text;
}

}  // namespace
}  // namespace certkey::daemon
