// The message envelope of the WebSocket and the unix socket (daemon/src/net/envelope.*,
// the CommandMessage, ReplyMessage and EventMessage schemas of daemon/openapi/certkey-v1.json):
// only the documented shape is accepted, a refusal carries the id when it could be read,
// and replies and events are well-formed JSON.
#include "net/envelope.hpp"

#include <gtest/gtest.h>

namespace certkey::daemon {
namespace {

using nlohmann::json;

constexpr auto kWebSocket = EnvelopeSource::websocket;
constexpr auto kUnix = EnvelopeSource::unix_socket;

// The refusal of `text`; fails the test when it is accepted.
EnvelopeError refusal(const std::string& text, EnvelopeSource source) {
  try {
    parse_envelope(text, source);
  } catch (const EnvelopeError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << text;
  return EnvelopeError(nullptr, ErrorCode::internal_error, "");
}

TEST(Envelope, Command_IsParsedWithIdAndArgs) {
  const Envelope e =
      parse_envelope(R"({"id": 7, "command": "getRenewal", "args": {"id": "ab"}})", kWebSocket);
  EXPECT_EQ(e.id, 7);
  EXPECT_EQ(e.command, "getRenewal");
  EXPECT_EQ(e.args, json({{"id", "ab"}}));
  EXPECT_FALSE(e.origin);
  EXPECT_TRUE(e.tty_name.empty());
}

TEST(Envelope, MissingArgsAndId_AreAnEmptyObjectAndNull) {
  const Envelope e = parse_envelope(R"({"command": "listTokens"})", kUnix);
  EXPECT_TRUE(e.id.is_null());
  EXPECT_EQ(e.args, json::object());
}

TEST(Envelope, OriginAndTerminal_AreTakenOnTheUnixSocket) {
  const Envelope e = parse_envelope(
      R"({"id": "a", "command": "listTokens", "origin": "https://ca.example.cn",
          "tty": "/dev/pts/3", "term": "xterm"})",
      kUnix);
  EXPECT_EQ(e.origin, "https://ca.example.cn");
  EXPECT_EQ(e.tty_name, "/dev/pts/3");
  EXPECT_EQ(e.tty_type, "xterm");
}

TEST(Envelope, OriginOrTerminalOnAWebSocket_IsRefusedWithTheId) {
  for (const char* member : {"origin", "tty", "term"}) {
    const std::string text =
        std::string(R"({"id": 9, "command": "listTokens", ")") + member + R"(": "x"})";
    const EnvelopeError e = refusal(text, kWebSocket);
    EXPECT_EQ(e.code(), ErrorCode::bad_request) << member;
    EXPECT_EQ(e.id(), 9) << member;
  }
}

TEST(Envelope, UnknownMember_IsRefusedWithTheId) {
  for (EnvelopeSource source : {kWebSocket, kUnix}) {
    const EnvelopeError e =
        refusal(R"({"id": "r1", "command": "beginRenewal", "pin": "123456"})", source);
    EXPECT_EQ(e.code(), ErrorCode::bad_request);
    EXPECT_EQ(e.id(), "r1");
    EXPECT_NE(std::string(e.what()).find("pin"), std::string::npos) << e.what();
  }
}

TEST(Envelope, IntegerOrShortStringIds_AreEchoed) {
  const std::string longest(128, 'i');
  EXPECT_EQ(parse_envelope(R"({"id": -3, "command": "c"})", kUnix).id, -3);
  EXPECT_EQ(parse_envelope(R"({"id": ")" + longest + R"(", "command": "c"})", kUnix).id, longest);
  EXPECT_TRUE(parse_envelope(R"({"id": null, "command": "c"})", kUnix).id.is_null());
}

TEST(Envelope, OtherIds_AreRefusedWithoutAnId) {
  const std::string too_long(129, 'i');
  for (const std::string& id : {"\"" + too_long + "\"", std::string("1.5"), std::string("[1]"),
                                std::string("{}"), std::string("true")}) {
    const EnvelopeError e = refusal(R"({"id": )" + id + R"(, "command": "c"})", kWebSocket);
    EXPECT_EQ(e.code(), ErrorCode::bad_request) << id;
    EXPECT_TRUE(e.id().is_null()) << id;
  }
}

TEST(Envelope, ArgsThatAreNotAnObject_AreRefused) {
  for (const char* args : {"[]", "null", "\"x\"", "1"}) {
    const EnvelopeError e =
        refusal(std::string(R"({"id": 2, "command": "c", "args": )") + args + "}", kUnix);
    EXPECT_EQ(e.id(), 2) << args;
  }
}

TEST(Envelope, MissingOrBadCommand_IsRefused) {
  EXPECT_EQ(refusal(R"({"id": 1})", kUnix).id(), 1);
  EXPECT_EQ(refusal(R"({"id": 1, "command": 5})", kUnix).id(), 1);
  EXPECT_EQ(refusal(R"({"id": 1, "command": ")" + std::string(65, 'c') + "\"}", kUnix).id(), 1);
}

TEST(Envelope, TextThatIsNotAJsonObject_IsRefusedWithoutAnId) {
  for (const char* text : {"", "[]", "\"listTokens\"", "{\"id\": 1", "\xFF"}) {
    const EnvelopeError e = refusal(text, kUnix);
    EXPECT_EQ(e.code(), ErrorCode::bad_request) << text;
    EXPECT_TRUE(e.id().is_null()) << text;
  }
}

TEST(RelayHello, NativeMessagingHello_GivesTheExtension) {
  EXPECT_EQ(
      parse_relay_hello(
          R"({"relay": {"kind": "native-messaging", "extension": "chrome-extension://abc/"}})"),
      "chrome-extension://abc/");
  EXPECT_EQ(parse_relay_hello(R"({"relay": {"kind": "native-messaging"}})"), "");
}

TEST(RelayHello, AnythingElse_IsNotAHello) {
  for (const char* text :
       {"", "[]", R"({"command": "listTokens"})", R"({"relay": "native-messaging"})",
        R"({"relay": {"kind": "other", "extension": "x"}})",
        R"({"relay": {"kind": "native-messaging", "extension": 5}})",
        R"({"relay": {"kind": "native-messaging"}, "id": 1})"}) {
    EXPECT_FALSE(parse_relay_hello(text)) << text;
  }
}

TEST(ReplyEnvelope, Success_CarriesIdStatusAndResult) {
  CommandReply reply;
  reply.status = 201;
  reply.body = std::make_shared<const std::string>(R"({"renewal":{"id":"ab"}})");
  const json out = json::parse(reply_envelope("r1", reply));
  EXPECT_EQ(out["id"], "r1");
  EXPECT_EQ(out["status"], 201);
  EXPECT_EQ(out["result"], json::parse(*reply.body));
  EXPECT_FALSE(out.contains("error"));
}

TEST(ReplyEnvelope, Failure_CarriesIdStatusAndTheErrorObject) {
  const json out =
      json::parse(reply_envelope(42, CommandReply::failure(ErrorCode::renewal_not_found, "gone")));
  EXPECT_EQ(out["id"], 42);
  EXPECT_EQ(out["status"], 404);
  EXPECT_EQ(out["error"]["code"], "renewal_not_found");
  EXPECT_EQ(out["error"]["detail"], "gone");
  EXPECT_FALSE(out.contains("result"));
  EXPECT_TRUE(
      json::parse(reply_envelope(nullptr, CommandReply::failure(ErrorCode::bad_request)))["id"]
          .is_null());
}

TEST(EventEnvelope, CarriesTheEventAndItsData) {
  const json out = json::parse(event_envelope("tokenInserted", R"({"serial":5})"));
  EXPECT_EQ(out, json({{"event", "tokenInserted"}, {"data", {{"serial", 5}}}}));
}

}  // namespace
}  // namespace certkey::daemon
