// The CLI's parts that need no daemon (daemon/cli/): the language chosen from the
// environment, and text from tokens and certificates made safe for a terminal.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <map>
#include <string>

#include "views/language.hpp"
#include "views.hpp"

namespace certkey::cli {
namespace {

Language with(std::map<std::string, std::string> environment) {
  return language_from([&](const char* name) -> const char* {
    const auto it = environment.find(name);
    return it == environment.end() ? nullptr : it->second.c_str();
  });
}

TEST(CliLanguage, ChineseFromTheFirstSetOf_LcAll_LcMessages_Lang) {
  EXPECT_EQ(with({}), Language::en);
  EXPECT_EQ(with({{"LANG", "zh_CN.UTF-8"}}), Language::zh);
  EXPECT_EQ(with({{"LANG", "zh_TW.Big5"}}), Language::zh);
  EXPECT_EQ(with({{"LANG", "zh"}}), Language::zh);
  EXPECT_EQ(with({{"LANG", "zhx_YY"}}), Language::en);
  EXPECT_EQ(with({{"LANG", "en_US.UTF-8"}, {"LC_MESSAGES", "zh_CN.UTF-8"}}), Language::zh);
  EXPECT_EQ(with({{"LANG", "zh_CN.UTF-8"}, {"LC_ALL", "C"}}), Language::en);
  EXPECT_EQ(with({{"LANG", "zh_CN.UTF-8"}, {"LC_ALL", ""}}), Language::zh)
      << "an empty variable is unset";
}

TEST(CliLanguage, LanguageListComesFirst_ExceptInTheCLocale) {
  EXPECT_EQ(with({{"LANG", "en_US.UTF-8"}, {"LANGUAGE", "zh_CN:en"}}), Language::zh);
  EXPECT_EQ(with({{"LANG", "zh_CN.UTF-8"}, {"LANGUAGE", "en_GB:zh_CN"}}), Language::en);
  EXPECT_EQ(with({{"LANG", "de_DE.UTF-8"}, {"LANGUAGE", "de:zh_CN"}}), Language::zh);
  EXPECT_EQ(with({{"LANG", "zh_CN.UTF-8"}, {"LANGUAGE", "de:fr"}}), Language::zh);
  EXPECT_EQ(with({{"LANGUAGE", "zh_CN"}}), Language::en)
      << "unset locale is C: gettext ignores LANGUAGE";
}

TEST(CliTerminal, ControlCharactersBecomeQuestionMarks_TextStays) {
  EXPECT_EQ(terminal_safe("CN=张三, O=飞天诚信"), "CN=张三, O=飞天诚信");
  EXPECT_EQ(terminal_safe("a\x1b]0;owned\x07z"), "a?]0;owned?z");
  EXPECT_EQ(terminal_safe("line\nnext\rtab\tdel\x7f"), "line?next?tab?del?");
  EXPECT_EQ(terminal_safe("c1 \xc2\x9b"
                          "31m"),
            "c1 ?31m")
      << "U+009B, the 8-bit CSI";
  EXPECT_EQ(terminal_safe("\xc2\xa0nbsp"), "\xc2\xa0nbsp");
}

TEST(CliStatus, NoToken_SaysWhatToPlugIn) {
  const nlohmann::json none = {{"tokens", nlohmann::json::array()}};
  EXPECT_EQ(status_text(none, {{"certificates", nlohmann::json::array()}}, Language::en, 0),
            "No token is plugged in. Plug in your USB KEY, SIM or SD KEY.\n");
  EXPECT_EQ(list_text(none, Language::zh), "未检测到介质。请插入 USB KEY、SIM 卡或 SD KEY。\n");
}

TEST(CliStatus, RenewalIsDueFrom30DaysBeforeExpiry_AndARetiredCertificateIsNotJudged) {
  const nlohmann::json tokens = {{"tokens",
                                  {{{"serial", 7},
                                    {"medium", "usbkey"},
                                    {"label", "certkey 7"},
                                    {"reader", "r"},
                                    {"pin_state", "ok"},
                                    {"pin_tries_left", 3},
                                    {"certificates",
                                     {{{"id", "01"},
                                       {"subject", "CN=due"},
                                       {"not_before", "2026-01-01T00:00:00Z"},
                                       {"not_after", "2026-12-31T00:00:00Z"}},
                                      {{"id", "05"},
                                       {"subject", "CN=old"},
                                       {"not_before", "2025-01-01T00:00:00Z"},
                                       {"not_after", "2025-12-31T00:00:00Z"}}}}}}}};
  const std::time_t december_7 = 1796601600;  // 2026-12-07T00:00:00Z
  const std::string text =
      status_text(tokens, {{"certificates", nlohmann::json::array()}}, Language::en, december_7);
  EXPECT_NE(text.find("valid until 2026-12-31 (24 days left)"), std::string::npos) << text;
  EXPECT_NE(text.find("Renewal due: renew it on your certificate authority's service page."),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find(
          "05  CN=old\n      an earlier certificate in a retired slot, kept but no longer used"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("expired"), std::string::npos) << text;
}

TEST(CliEvents, OneLineWithTheTimeTheTokenAndWhatHappened_InBothLanguages) {
  const nlohmann::json removed = {
      {"event", "tokenRemoved"},
      {"data", {{"token", {{"serial", 42}, {"medium", "sim"}, {"reader", "r\x1b[2J"}}}}}};
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(event_text(removed, Language::en, 1796649231),
            "13:13:51  SIM 42 in \"r?[2J\": pulled out");
  EXPECT_EQ(event_text(removed, Language::zh, 1796649231),
            "13:13:51  SIM 卡 42，读卡器「r?[2J」：已拔出");
  const nlohmann::json failed = {{"event", "tokenReconciled"},
                                 {"data", {{"token", 42}, {"error", "token_error"}}}};
  EXPECT_EQ(event_text(failed, Language::en, 1796649231),
            "13:13:51  token 42: interrupted work not finished; tried again at its next insertion");
}

}  // namespace
}  // namespace certkey::cli
