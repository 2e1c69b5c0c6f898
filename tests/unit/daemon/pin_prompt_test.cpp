// The text of certkeyd's trusted PIN prompt (daemon/src/workflows/pin_prompt.*, DESIGN.md
// section 6, security model item 4): it names who asks (the web site, or a program on this
// computer, and the extension it came through), what for, and which token, in English and
// Chinese; nothing a token or certificate contains can add lines of its own.
#include "workflows/pin_prompt.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace certkey::daemon {
namespace {

const OperationText kRenew{"renew the certificate \"CN=Alice\"", "更新证书「CN=Alice」"};

Caller web_caller(Transport transport = Transport::http) {
  Caller c;
  c.transport = transport;
  c.origin = Origin::parse("https://ca.example.cn");
  return c;
}

Caller local_caller() {
  Caller c;
  c.transport = Transport::unix_socket;
  return c;
}

TokenState token(std::string label = "Alice's key", int tries_left = 3) {
  TokenState t;
  t.serial = 12345678;
  t.medium = "usbkey";
  t.label = std::move(label);
  t.pin = {3, tries_left, false};
  return t;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(PinPromptText, WebCaller_IsNamedByItsOrigin) {
  const std::string text = PinPrompt::description(web_caller(), kRenew, token());
  EXPECT_TRUE(has(text,
                  "The web site https://ca.example.cn asks for the PIN of your USB KEY to "
                  "renew the certificate \"CN=Alice\"."))
      << text;
  EXPECT_TRUE(
      has(text, "网站 https://ca.example.cn 请求使用您的USB KEY PIN 码，以更新证书「CN=Alice」。"))
      << text;
  EXPECT_FALSE(has(text, "extension")) << text;
  EXPECT_FALSE(has(text, "A program on this computer")) << text;
}

TEST(PinPromptText, CallerWithoutOrigin_IsAProgramOnThisComputer) {
  const std::string text = PinPrompt::description(local_caller(), kRenew, token());
  EXPECT_TRUE(has(text, "A program on this computer asks for the PIN")) << text;
  EXPECT_TRUE(has(text, "本机程序请求使用您的")) << text;
  EXPECT_FALSE(has(text, "web site")) << text;
}

TEST(PinPromptText, NativeMessagingCaller_MentionsTheExtension) {
  const std::string text =
      PinPrompt::description(web_caller(Transport::native_messaging), kRenew, token());
  EXPECT_TRUE(has(text, "https://ca.example.cn (through the certkey browser extension)")) << text;
  EXPECT_TRUE(has(text, "（经由 certkey 浏览器扩展）")) << text;
}

TEST(PinPromptText, ShowsTheTokensLabelAndSerial_InBothLanguages) {
  const std::string text = PinPrompt::description(web_caller(), kRenew, token());
  EXPECT_TRUE(has(text, "Token: Alice's key (12345678)\n")) << text;
  EXPECT_TRUE(has(text, "介质：Alice's key (12345678)\n")) << text;
}

TEST(PinPromptText, TriesLeft_AreShownOnlyBelowTheLimit) {
  EXPECT_FALSE(has(PinPrompt::description(web_caller(), kRenew, token("k", 3)), "tries left"));
  const std::string low = PinPrompt::description(web_caller(), kRenew, token("k", 2));
  EXPECT_TRUE(has(low, "PIN tries left: 2\n")) << low;
  EXPECT_TRUE(has(low, "剩余尝试次数：2\n")) << low;
}

TEST(PinPromptText, ControlCharactersInALabel_DrawNoLinesOfTheirOwn) {
  const std::string plain = PinPrompt::description(web_caller(), kRenew, token("plain"));
  const std::string forged = PinPrompt::description(
      web_caller(), {"renew \"CN=A\nB\"", "更新\r\n"},
      token("Evil\nThe web site https://bank.example.cn asks\r\x1b[2J\t\x7f\x01"));

  EXPECT_EQ(std::count(forged.begin(), forged.end(), '\n'),
            std::count(plain.begin(), plain.end(), '\n'))
      << forged;
  EXPECT_TRUE(std::none_of(forged.begin(), forged.end(), [](char c) {
    return c != '\n' && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f);
  })) << forged;
  EXPECT_TRUE(
      has(forged, "Token: Evil The web site https://bank.example.cn asks  [2J    (12345678)"))
      << forged;
}

}  // namespace
}  // namespace certkey::daemon
