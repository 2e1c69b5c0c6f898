// Revocation checking (daemon/src/certs/revocation.*) against real peers on loopback:
// `openssl ocsp` responders for a test CA made with `openssl ca` (one signing with a
// delegated OCSP certificate, one with the CA's own key, one with a certificate the CA never
// authorised for OCSP), and a Beast HTTP server that serves the CA's CRL, a forged CRL and
// broken answers. Leaves name these in their AIA and CRL distribution point extensions.
#include "certs/revocation.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "http_peer.hpp"
#include "test_pki.hpp"

namespace certkey::daemon {
namespace {

using State = RevocationChecker::State;
using Source = RevocationChecker::Source;
using test::HttpPeer;
using Reply = HttpPeer::Reply;
using test::OcspResponder;
using test::TestPki;

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

std::string aia(const std::string& url) { return "authorityInfoAccess = OCSP;URI:" + url; }
std::string cdp(const std::string& url) { return "crlDistributionPoints = URI:" + url; }

struct Leaf {
  std::string pem;
  X509Ptr certificate{nullptr, X509_free};
  X509* get() const { return certificate.get(); }
};

class RevocationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      set_up_world();
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }

  // Responders first, so that their ports can go into the leaves; they read the CA's index
  // again when it changes (apps/ocsp.c, index_changed), which await_index makes sure of.
  static void set_up_world() {
    dir_ = std::make_unique<test::TempDir>();
    pki_ = std::make_unique<TestPki>(dir_->path());
    TestPki& pki = *pki_;
    const std::string responder_cert =
        pki.issue("ocsp-responder", {"extendedKeyUsage = OCSPSigning"});
    const std::string plain_cert = pki.issue("not-a-responder", {});
    const std::vector<std::string> common{"-index", pki.index(), "-CA", pki.issuing_pem(),
                                          "-ignore_err"};
    auto responder = [&](const std::string& name, std::vector<std::string> args) {
      args.insert(args.begin(), common.begin(), common.end());
      auto r = std::make_unique<OcspResponder>(args, dir_->path() + "/" + name + ".log");
      r->start();
      return r;
    };
    delegated_ = responder("delegated", {"-rsigner", responder_cert, "-rkey",
                                         dir_->path() + "/ocsp-responder.key", "-nmin", "60"});
    direct_ = responder("direct", {"-rsigner", pki.issuing_pem(), "-rkey", pki.issuing_key()});
    unauthorised_ = responder(
        "unauthorised", {"-rsigner", plain_cert, "-rkey", dir_->path() + "/not-a-responder.key"});
    http_ = std::make_unique<HttpPeer>();
    const HttpPeer& http = *http_;

    good_ = leaf("good", {aia(delegated_->url())});
    revoked_ = leaf("revoked", {aia(delegated_->url())});
    direct_good_ = leaf("direct-good", {aia(direct_->url())});
    unauthorised_good_ = leaf("unauthorised-good", {aia(unauthorised_->url())});
    crl_good_ = leaf("crl-good", {cdp(http.url("/issuing.crl"))});
    crl_revoked_ = leaf("crl-revoked", {cdp(http.url("/issuing.crl"))});
    fallback_revoked_ =
        leaf("fallback-revoked", {aia(http.url("/garbage")), cdp(http.url("/issuing.crl"))});
    garbage_ = leaf("garbage", {aia(http.url("/garbage")), cdp(http.url("/garbage"))});
    forged_crl_ = leaf("forged-crl", {cdp(http.url("/impostor.crl"))});
    https_ = leaf("https", {aia("https://127.0.0.1:" + std::to_string(http.port()) + "/"),
                            cdp(http.url("/missing"))});
    hang_ = leaf("hang", {aia(http.url("/hang"))});
    big_ = leaf("big", {cdp(http.url("/big"))});
    bare_ = leaf("bare", {});
    issuer_ = test::load_certificate(pki.issuing_pem());
    root_ = test::load_certificate(pki.root_pem());

    for (const Leaf* l : {&revoked_, &crl_revoked_, &fallback_revoked_})
      pki.revoke(l->pem, "keyCompromise");
    http_->serve("/issuing.crl", Reply::ok(pki.crl_der()));
    http_->serve("/impostor.crl", Reply::ok(pki.impostor_crl_der()));
    http_->serve("/garbage", Reply::ok("this is neither DER nor an answer"));
    http_->serve("/hang", Reply::silence());
    http_->serve("/big", Reply::ok(std::string(2 * 1024 * 1024, '\x30')));
    for (OcspResponder* r : {delegated_.get(), direct_.get(), unauthorised_.get()}) await_index(*r);
  }

  static void TearDownTestSuite() {
    delegated_.reset();
    direct_.reset();
    unauthorised_.reset();
    http_.reset();
    pki_.reset();
    dir_.reset();
  }

  static Leaf leaf(const std::string& name, const std::vector<std::string>& extensions) {
    Leaf l;
    l.pem = pki_->issue(name, extensions);
    l.certificate = test::load_certificate(l.pem);
    return l;
  }

  // A responder answers a request with the index it had when it took the connection, and
  // reads the index again before the next one: ask (with the command-line client) until it
  // knows the revoked leaf. Bounded; each round is one real request, not a wait.
  static void await_index(const OcspResponder& responder) {
    const std::string ask = "openssl ocsp -issuer '" + pki_->issuing_pem() + "' -cert '" +
                            revoked_.pem + "' -url " + responder.url() +
                            " -noverify -timeout 5 | grep -q ': revoked'";
    for (int round = 0; round < 5; ++round) {
      try {
        test::shell(dir_->path(), ask);
        return;
      } catch (const std::runtime_error&) {
      }
    }
    throw std::runtime_error("the responder at " + responder.url() + " never saw the revocation");
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    // A test that stopped a responder leaves it stopped; the next one gets it back, on the
    // port its leaves name.
    for (OcspResponder* r : {delegated_.get(), direct_.get(), unauthorised_.get()})
      r->start(r->port());
  }

  static RevocationOptions fast() {
    RevocationOptions options;
    options.fetch_timeout = std::chrono::milliseconds(500);
    return options;
  }

  static inline std::string setup_error_;
  static inline std::unique_ptr<test::TempDir> dir_;
  static inline std::unique_ptr<TestPki> pki_;
  static inline std::unique_ptr<OcspResponder> delegated_, direct_, unauthorised_;
  static inline std::unique_ptr<HttpPeer> http_;
  static inline Leaf good_, revoked_, direct_good_, unauthorised_good_, crl_good_, crl_revoked_,
      fallback_revoked_, garbage_, forged_crl_, https_, hang_, big_, bare_;
  static inline X509Ptr issuer_{nullptr, X509_free}, root_{nullptr, X509_free};
};

TEST_F(RevocationTest, OcspGood_IsGood) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(good_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::good) << status.detail;
  EXPECT_EQ(status.source, Source::ocsp);
  EXPECT_TRUE(contains(status.detail, delegated_->url())) << status.detail;
  // The responder runs with -nmin 60: nextUpdate is an hour after thisUpdate.
  ASSERT_TRUE(status.next_update);
  EXPECT_GT(*status.next_update, std::time(nullptr) + 30 * 60);
}

TEST_F(RevocationTest, OcspRevoked_IsRevokedWithTimeAndReason) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(revoked_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::revoked) << status.detail;
  EXPECT_EQ(status.source, Source::ocsp);
  EXPECT_TRUE(status.revoked_at);
  EXPECT_TRUE(contains(status.detail, "keyCompromise")) << status.detail;
}

TEST_F(RevocationTest, OcspSignedByTheIssuer_IsAccepted) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(direct_good_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::good) << status.detail;
  EXPECT_FALSE(status.next_update);  // that responder gives no nextUpdate
}

TEST_F(RevocationTest, OcspSignedByACertificateWithoutOcspSigning_IsUnknown) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(unauthorised_good_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::unknown);
  EXPECT_TRUE(contains(status.detail, "not signed by the issuer")) << status.detail;
}

TEST_F(RevocationTest, StoppedResponder_IsUnknown) {
  delegated_->stop();
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(good_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::unknown);
  EXPECT_EQ(status.source, Source::none);
  EXPECT_TRUE(contains(status.detail, delegated_->url())) << status.detail;
}

TEST_F(RevocationTest, CachedAnswer_NeedsNoResponder) {
  RevocationChecker checker(fast());
  EXPECT_FALSE(checker.cached(good_.get(), issuer_.get()));
  ASSERT_EQ(checker.check(good_.get(), issuer_.get()).state, State::good);
  delegated_->stop();
  EXPECT_EQ(checker.check(good_.get(), issuer_.get()).state, State::good);
  const std::optional<RevocationChecker::Status> cached =
      checker.cached(good_.get(), issuer_.get());
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->state, State::good);
}

TEST_F(RevocationTest, Unknown_IsCachedForItsShortLifetime) {
  delegated_->stop();
  RevocationChecker checker(fast());
  ASSERT_EQ(checker.check(good_.get(), issuer_.get()).state, State::unknown);
  const std::optional<RevocationChecker::Status> cached =
      checker.cached(good_.get(), issuer_.get());
  ASSERT_TRUE(cached);
  EXPECT_EQ(cached->state, State::unknown);

  RevocationOptions no_unknowns = fast();
  no_unknowns.unknown_lifetime = std::chrono::seconds(0);
  RevocationChecker forgetful(no_unknowns);
  ASSERT_EQ(forgetful.check(good_.get(), issuer_.get()).state, State::unknown);
  EXPECT_FALSE(forgetful.cached(good_.get(), issuer_.get()));
}

TEST_F(RevocationTest, CrlGoodAndRevoked_AreRead) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status good = checker.check(crl_good_.get(), issuer_.get());
  EXPECT_EQ(good.state, State::good) << good.detail;
  EXPECT_EQ(good.source, Source::crl);
  EXPECT_TRUE(good.next_update);
  const RevocationChecker::Status revoked = checker.check(crl_revoked_.get(), issuer_.get());
  EXPECT_EQ(revoked.state, State::revoked) << revoked.detail;
  EXPECT_EQ(revoked.source, Source::crl);
  EXPECT_TRUE(revoked.revoked_at);
  EXPECT_TRUE(contains(revoked.detail, "keyCompromise")) << revoked.detail;
}

TEST_F(RevocationTest, CrlAnswer_IsCached) {
  RevocationChecker checker(fast());
  const unsigned before = http_->requests("/issuing.crl");
  EXPECT_EQ(checker.check(crl_good_.get(), issuer_.get()).state, State::good);
  EXPECT_EQ(checker.check(crl_good_.get(), issuer_.get()).state, State::good);
  EXPECT_EQ(http_->requests("/issuing.crl"), before + 1);
}

TEST_F(RevocationTest, OcspGarbage_FallsBackToTheCrl) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(fallback_revoked_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::revoked) << status.detail;
  EXPECT_EQ(status.source, Source::crl);
}

TEST_F(RevocationTest, GarbageEverywhere_IsUnknown) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(garbage_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::unknown);
  EXPECT_TRUE(contains(status.detail, "not an OCSP response")) << status.detail;
  EXPECT_TRUE(contains(status.detail, "not a DER CRL")) << status.detail;
}

TEST_F(RevocationTest, CrlSignedByAnotherKey_IsUnknown) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(forged_crl_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::unknown);
  EXPECT_TRUE(contains(status.detail, "signature does not verify")) << status.detail;
}

TEST_F(RevocationTest, HttpsResponderAndMissingCrl_AreUnknownWithReasons) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(https_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::unknown);
  EXPECT_TRUE(contains(status.detail, "https is not supported")) << status.detail;
  EXPECT_TRUE(contains(status.detail, "HTTP 404")) << status.detail;
}

TEST_F(RevocationTest, SilentResponder_IsUnknownAfterTheTimeout) {
  RevocationChecker checker(fast());
  const auto start = std::chrono::steady_clock::now();
  const RevocationChecker::Status status = checker.check(hang_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::unknown);
  EXPECT_TRUE(contains(status.detail, "timed out")) << status.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::seconds(5));  // a bound far above 500 ms
}

TEST_F(RevocationTest, OversizedCrl_IsUnknown) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(big_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::unknown);
  EXPECT_TRUE(contains(status.detail, "larger than")) << status.detail;
}

TEST_F(RevocationTest, NoResponderAndNoCrl_IsUnknown) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(bare_.get(), issuer_.get());
  EXPECT_EQ(status.state, State::unknown);
  EXPECT_TRUE(contains(status.detail, "no OCSP responder and no CRL")) << status.detail;
}

TEST_F(RevocationTest, WrongIssuer_IsUnknownWithoutAsking) {
  RevocationChecker checker(fast());
  const RevocationChecker::Status status = checker.check(good_.get(), root_.get());
  EXPECT_EQ(status.state, State::unknown);
  EXPECT_TRUE(contains(status.detail, "is not the issuer")) << status.detail;
  EXPECT_EQ(checker.check(nullptr, issuer_.get()).state, State::unknown);
  EXPECT_EQ(checker.check(good_.get(), nullptr).state, State::unknown);
}

TEST_F(RevocationTest, FullCache_DropsAnEntry) {
  RevocationOptions one = fast();
  one.max_cache_entries = 1;
  RevocationChecker checker(one);
  ASSERT_EQ(checker.check(good_.get(), issuer_.get()).state, State::good);
  ASSERT_EQ(checker.check(crl_good_.get(), issuer_.get()).state, State::good);
  EXPECT_FALSE(checker.cached(good_.get(), issuer_.get()));
  EXPECT_TRUE(checker.cached(crl_good_.get(), issuer_.get()));
}

TEST_F(RevocationTest, ConcurrentChecks_GetTheirOwnAnswers) {
  RevocationChecker checker(fast());
  const std::vector<std::pair<const Leaf*, State>> cases{{&good_, State::good},
                                                         {&revoked_, State::revoked},
                                                         {&crl_good_, State::good},
                                                         {&crl_revoked_, State::revoked}};
  std::vector<State> seen(cases.size() * 3, State::unknown);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] {
      seen[i] = checker.check(cases[i % cases.size()].first->get(), issuer_.get()).state;
    });
  }
  for (std::thread& t : threads) t.join();
  for (std::size_t i = 0; i < seen.size(); ++i)
    EXPECT_EQ(seen[i], cases[i % cases.size()].second) << i;
}

}  // namespace
}  // namespace certkey::daemon
