// certkeyd's four transports carry the same commands to the same core (DESIGN.md section 6):
// HTTP, the WebSocket at /v1/events, the unix socket, and the browser extension's
// native-messaging relay. Over each, a token list and a whole renewal (a new key and request
// on the token, the CA's certificate written back), every answer checked against the OpenAPI
// description. Runs in tests/harness/with-tokens --media usbkey,sim.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <functional>

#include "daemon_harness.hpp"

namespace certkey::test {
namespace {

struct Answer {
  unsigned status = 0;
  json body;  // as HTTP would carry it: the result, or {"error": {...}}
};

// Where each command lives in the OpenAPI description.
std::pair<std::string, std::string> operation_of(const std::string& command) {
  if (command == "listTokens") return {"/v1/tokens", "get"};
  if (command == "beginRenewal") return {"/v1/renewals", "post"};
  if (command == "getRenewal") return {"/v1/renewals/{id}", "get"};
  if (command == "completeRenewal") return {"/v1/renewals/{id}/complete", "post"};
  return {"/v1/events", "get"};
}

Answer from_envelope(const json& reply) {
  EXPECT_TRUE(conforms_to_schema("ReplyMessage", reply));
  Answer a{reply.at("status").get<unsigned>(),
           reply.contains("result") ? reply["result"] : json{{"error", reply["error"]}}};
  return a;
}

using Transport = std::function<Answer(const std::string& command, const json& args)>;

Transport over_http(unsigned port) {
  auto http = std::make_shared<Http>(port);
  return [http](const std::string& command, const json& args) {
    HttpResponse r;
    if (command == "listTokens") r = http->get("/v1/tokens");
    if (command == "beginRenewal") r = http->post("/v1/renewals", args);
    if (command == "getRenewal") r = http->get("/v1/renewals/" + args["id"].get<std::string>());
    if (command == "completeRenewal") {
      r = http->post("/v1/renewals/" + args["id"].get<std::string>() + "/complete",
                     {{"certificate", args["certificate"]}});
    }
    EXPECT_EQ(r.headers["access-control-allow-origin"], kPortal);
    return Answer{r.status, r.body_json()};
  };
}

Transport over_websocket(unsigned port) {
  auto ws = std::make_shared<WsClient>(port);
  return [ws](const std::string& command, const json& args) {
    return from_envelope(ws->call(command, args));
  };
}

Transport over_unix_socket(const std::string& path) {
  auto client = std::make_shared<UnixClient>(path);
  return [client](const std::string& command, const json& args) {
    return from_envelope(client->call(command, args, {{"origin", kPortal}}));
  };
}

Transport over_relay(const std::string& runtime_dir) {
  auto relay = std::make_shared<Relay>(runtime_dir);
  auto next_id = std::make_shared<int>(1);
  return [relay, next_id](const std::string& command, const json& args) {
    const int id = (*next_id)++;
    relay->send({{"id", id}, {"command", command}, {"args", args}, {"origin", kPortal}});
    for (;;) {
      json message = relay->receive();
      if (message.is_null()) return Answer{};
      if (!message.contains("event") && message["id"] == id) return from_envelope(message);
    }
  };
}

class Transports : public ::testing::Test {
 protected:
  void SetUp() override {
    DaemonOptions options;
    options.trust_anchors = {ca_.root_path()};
    options.intermediates = {ca_.issuing_path()};
    daemon_ = std::make_unique<Daemon>(options);
    serial_ = serial_on(Http(daemon_->port).get("/v1/tokens").body_json(), "usbkey");
    ASSERT_NE(serial_, 0u);
    const std::string provisioned = provision_certificate(serial_, "transport holder", ca_);
    write_file(daemon_->dir + "/provisioned.pem", provisioned);
    // "serial=1000": the API shows it in lower-case hex without the prefix.
    provisioned_serial_ =
        shell_output("openssl x509 -noout -serial -in " + daemon_->dir + "/provisioned.pem");
    provisioned_serial_ = provisioned_serial_.substr(provisioned_serial_.find('=') + 1);
    while (!provisioned_serial_.empty() && provisioned_serial_.back() == '\n')
      provisioned_serial_.pop_back();
    for (char& c : provisioned_serial_)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }

  // The serial number of the certificate in `slot` of the test's token, as listTokens shows it.
  static std::string serial_number_in(const json& list, std::uint32_t token,
                                      const std::string& slot) {
    for (const json& t : list["tokens"]) {
      for (const json& c : t["certificates"]) {
        if (t["serial"] == token && c["id"] == slot) return c["serial_number"];
      }
    }
    return "";
  }

  // The whole renewal through one transport; every answer as the description says.
  void renew_through(const Transport& call) {
    auto checked = [&](const std::string& command, const json& args, unsigned want) {
      const Answer a = call(command, args);
      const auto [path, method] = operation_of(command);
      EXPECT_EQ(a.status, want) << command << ": " << a.body.dump();
      EXPECT_TRUE(conforms(path, method, a.status, a.body));
      return a.body;
    };
    const json before = checked("listTokens", json::object(), 200);
    ASSERT_EQ(serial_on(before, "usbkey"), serial_);
    const std::string old_serial_number = provisioned_serial_;
    const json begun = checked("beginRenewal", {{"token", serial_}, {"certificate", "01"}}, 201);
    const std::string id = begun["renewal"]["id"];
    const std::string key = begun["renewal"]["key"];
    EXPECT_EQ(checked("getRenewal", {{"id", id}}, 200)["renewal"]["csr"], begun["renewal"]["csr"]);
    const std::string certificate = ca_.issue(begun["renewal"]["csr"]);
    EXPECT_EQ(checked("completeRenewal", {{"id", id}, {"certificate", certificate}},
                      200)["renewal"]["state"],
              "current");
    EXPECT_EQ(call("getRenewal", {{"id", id}}).status, 404u) << "a completed renewal is over";
    // What the daemon changed shows in the next list, without waiting: the new certificate
    // where the old one was, the old one in the retired slot.
    const json after = checked("listTokens", json::object(), 200);
    EXPECT_NE(serial_number_in(after, serial_, "01"), old_serial_number) << after.dump();
    EXPECT_EQ(serial_number_in(after, serial_, key), old_serial_number) << after.dump();
    EXPECT_NE(daemon_->prompts().find("renew the certificate"), std::string::npos)
        << daemon_->prompts();
  }

  std::unique_ptr<Daemon> daemon_;
  std::uint32_t serial_ = 0;
  TestCa ca_;
  std::string provisioned_serial_;
};

TEST_F(Transports, Http_ListsAndRenews) { renew_through(over_http(daemon_->port)); }

TEST_F(Transports, WebSocket_ListsAndRenews) { renew_through(over_websocket(daemon_->port)); }

TEST_F(Transports, UnixSocket_ListsAndRenews) {
  renew_through(over_unix_socket(daemon_->socket_path));
}

TEST_F(Transports, NativeMessagingRelay_ListsAndRenews) {
  renew_through(over_relay(daemon_->runtime_dir));
  // The audit log knows the page the extension spoke for.
  const std::vector<std::string> audit = daemon_->audit();
  ASSERT_EQ(audit.size(), 2u);
  EXPECT_EQ(audit[0], "beginRenewal " + std::string(kPortal) + " ok " + std::to_string(serial_));
  EXPECT_EQ(audit[1], "completeRenewal " + std::string(kPortal) + " ok " + std::to_string(serial_));
}

TEST_F(Transports, UnixSocketWithoutOrigin_IsAProgramOnThisComputer) {
  UnixClient cli(daemon_->socket_path);
  const json reply = cli.call("beginRenewal", {{"token", serial_}, {"certificate", "01"}});
  EXPECT_EQ(reply["status"], 201) << reply.dump();
  EXPECT_NE(daemon_->prompts().find("A program on this computer"), std::string::npos)
      << daemon_->prompts();
  EXPECT_EQ(daemon_->audit().at(0), "beginRenewal  ok " + std::to_string(serial_));
}

TEST_F(Transports, Relay_RefusesAMessageWithoutOrigin_AndAnOversizedOne) {
  Relay relay(daemon_->runtime_dir);
  relay.send({{"id", 1}, {"command", "listTokens"}});
  const json refused = relay.receive();
  EXPECT_EQ(refused["status"], 400) << refused.dump();
  EXPECT_EQ(refused["error"]["code"], "bad_request");
  // A browser message over the relay's bound: an error in the browser's framing, then the end.
  const std::uint32_t too_long = 64 * 1024 + 1;
  relay.send_bytes(std::string(reinterpret_cast<const char*>(&too_long), 4));
  const json error = relay.receive();
  EXPECT_EQ(error["error"]["code"], "payload_too_large") << error.dump();
  EXPECT_EQ(relay.close_and_wait(), 1);
}

TEST_F(Transports, Relay_WithoutTheDaemon_SaysItIsNotRunning) {
  const std::string runtime = daemon_->runtime_dir;
  daemon_->terminate();
  Relay relay(runtime);
  const json error = relay.receive();
  EXPECT_EQ(error["error"]["code"], "daemon_unavailable") << error.dump();
  EXPECT_FALSE(error["error"]["message_zh"].get<std::string>().empty());
  EXPECT_EQ(relay.close_and_wait(), 1);
}

TEST_F(Transports, UnknownCommandOrMalformedEnvelope_IsAnErrorReply) {
  UnixClient cli(daemon_->socket_path);
  EXPECT_EQ(cli.call("formatToken")["error"]["code"], "not_found");
  cli.send_frame("not json");
  const json reply = json::parse(cli.read_frame());
  EXPECT_EQ(reply["error"]["code"], "bad_request");
  EXPECT_TRUE(reply["id"].is_null());
  WsClient ws(daemon_->port);
  EXPECT_EQ(ws.call("listTokens", {{"pin", "123456"}})["error"]["code"], "pin_not_accepted");
}

}  // namespace
}  // namespace certkey::test

namespace certkey::test {
namespace {

// A local caller may offer its own terminal for a text-mode prompt, as GnuPG does with
// GPG_TTY; the daemon passes it to pinentry as OPTION ttyname, and refuses a path that is
// not a terminal of the caller's.
TEST_F(Transports, UnixSocketCaller_OffersItsTerminalToThePrompt) {
  const int terminal = ::posix_openpt(O_RDWR | O_NOCTTY);
  ASSERT_GE(terminal, 0);
  ASSERT_EQ(::grantpt(terminal), 0);
  ASSERT_EQ(::unlockpt(terminal), 0);
  const std::string tty = ::ptsname(terminal);
  UnixClient cli(daemon_->socket_path);
  const json begun = cli.call("beginRenewal", {{"token", serial_}, {"certificate", "01"}},
                              {{"tty", tty}, {"term", "xterm"}});
  EXPECT_EQ(begun["status"], 201) << begun.dump();
  EXPECT_NE(daemon_->prompts().find("OPTION ttyname=" + tty), std::string::npos)
      << daemon_->prompts();
  EXPECT_NE(daemon_->prompts().find("OPTION ttytype=xterm"), std::string::npos);
  for (const char* not_a_terminal : {"/etc/passwd", "/dev/../etc/passwd", "relative"}) {
    const json refused = cli.call("listTokens", json::object(), {{"tty", not_a_terminal}});
    EXPECT_EQ(refused["error"]["code"], "bad_request") << not_a_terminal;
  }
  ::close(terminal);
}

}  // namespace
}  // namespace certkey::test
