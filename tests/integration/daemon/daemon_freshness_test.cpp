// Reads come from a snapshot that PC/SC events keep current (DESIGN.md section 6): a token
// pulled or inserted shows at once and is announced to every subscriber; what other programs
// change shows within kRevalidateInterval (1 s), revalidated with one TOKEN INFO at most
// once per token per second however many reads arrive. Runs in tests/harness/with-tokens
// --media usbkey,sim.
#include <chrono>

#include "daemon_harness.hpp"

namespace certkey::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDocumentedBound = std::chrono::seconds(1);
// What a loaded two-core machine adds to the bound: the time between two reads.
constexpr auto kSlack = std::chrono::milliseconds(500);

std::uint64_t apdus(const std::string& token) {
  const std::string out = sim("stats " + token);  // "ok apdus=N ..."
  const auto at = out.find("apdus=");
  return at == std::string::npos ? 0 : std::stoull(out.substr(at + 6));
}

const json* token_in(const json& list, std::uint32_t serial) {
  for (const json& t : list["tokens"]) {
    if (t["serial"] == serial) return &t;
  }
  return nullptr;
}

class Freshness : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>();
    page_ = std::make_unique<Http>(daemon_->port);
    serial_ = serial_on(page_->get("/v1/tokens").body_json(), "usbkey");
    ASSERT_NE(serial_, 0u);
  }

  // Reads the list as fast as it answers until `seen` holds; returns how long that took
  // and counts the reads.
  template <typename Predicate>
  Clock::duration read_until(Predicate seen, int& reads) {
    const auto start = Clock::now();
    for (reads = 1;; ++reads) {
      const HttpResponse r = page_->get("/v1/tokens");
      EXPECT_EQ(r.status, 200u);
      if (seen(r.body_json())) return Clock::now() - start;
      if (Clock::now() - start > 10 * kDocumentedBound)
        return Clock::now() - start;  // failed: say so below
    }
  }

  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<Http> page_;
  std::uint32_t serial_ = 0;
};

TEST_F(Freshness, CertificateWrittenByAnotherProgram_ShowsWithinTheBound_AtOneTokenInfoPerSecond) {
  provision_certificate(serial_, "written elsewhere");
  const std::uint64_t before = apdus("token1");
  int reads = 0;
  const Clock::duration took = read_until(
      [&](const json& list) {
        const json* t = token_in(list, serial_);
        return t && !(*t)["certificates"].empty();
      },
      reads);
  EXPECT_LE(took, kDocumentedBound + kSlack) << "after " << reads << " reads";
  // However many reads arrived, the token saw about one TOKEN INFO per second, plus one
  // reading of what changed (TOKEN INFO, LIST KEYS, the key's metadata, the certificate).
  const std::uint64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(took).count() + 1;
  EXPECT_LE(apdus("token1") - before, seconds + 1 + 5) << reads << " reads";
}

TEST_F(Freshness, WrongPinTypedIntoAnotherProgram_ShowsWithinTheBound) {
  EXPECT_NE(
      shell("pkcs11-tool --module " + build_dir() +
            "/pkcs11-module/src/libcertkey-pkcs11.so --token-label "
            "'certkey " +
            std::to_string(serial_) + "' --login --pin 000000 --list-objects >/dev/null 2>&1"),
      0);
  int reads = 0;
  const Clock::duration took = read_until(
      [&](const json& list) {
        const json* t = token_in(list, serial_);
        return t && (*t)["pin_tries_left"] == 2 && (*t)["pin_state"] == "count_low";
      },
      reads);
  EXPECT_LE(took, kDocumentedBound + kSlack) << "after " << reads << " reads";
}

TEST_F(Freshness, PulledAndInserted_ShowAtOnce_AndSubscribersHearBoth) {
  WsClient events(daemon_->port);
  UnixClient cli(daemon_->socket_path);
  const json watching = cli.call("watchEvents");
  ASSERT_EQ(watching["status"], 200) << watching.dump();
  EXPECT_TRUE(conforms("/v1/events", "get", 200, watching["result"]));

  sim("remove token1");
  const json removed = events.next_event();
  EXPECT_EQ(removed["event"], "tokenRemoved");
  EXPECT_EQ(removed["data"]["token"]["serial"], serial_);
  EXPECT_TRUE(conforms_to_schema("EventMessage", removed));
  EXPECT_EQ(cli.next_event(), removed);
  EXPECT_EQ(token_in(page_->get("/v1/tokens").body_json(), serial_), nullptr) << "gone at once";

  sim("insert token1");
  const json inserted = events.next_event();
  EXPECT_EQ(inserted["event"], "tokenInserted");
  EXPECT_EQ(inserted["data"]["token"]["serial"], serial_);
  EXPECT_TRUE(conforms_to_schema("EventMessage", inserted));
  EXPECT_EQ(cli.next_event(), inserted);
  EXPECT_NE(token_in(page_->get("/v1/tokens").body_json(), serial_), nullptr) << "back at once";
}

TEST_F(Freshness, ChangeThroughTheDaemon_IsAnnouncedAsTokenChanged) {
  provision_certificate(serial_, "changed holder");
  WsClient events(daemon_->port);
  const json begun = events.call("beginRenewal", {{"token", serial_}, {"certificate", "01"}});
  ASSERT_EQ(begun["status"], 201) << begun.dump();
  // The certificate written elsewhere is seen when the renewal revalidates, the new key
  // when it ends: each a tokenChanged.
  json event = events.next_event();
  EXPECT_EQ(event["event"], "tokenChanged");
  EXPECT_TRUE(conforms_to_schema("EventMessage", event));
}

}  // namespace
}  // namespace certkey::test
