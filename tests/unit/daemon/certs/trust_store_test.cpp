// Path validation against the configured anchors (daemon/src/certs/trust_store.*), with a
// PKI made by the openssl command line: a root, an issuing CA under it, an unrelated root,
// and leaves valid now, expired, and not yet valid.
#include "certs/trust_store.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "test_pki.hpp"

namespace certkey::daemon {
namespace {

using test::TestPki;

class TrustStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      dir_ = std::make_unique<test::TempDir>();
      pki_ = std::make_unique<TestPki>(dir_->path());
      leaf_ = pki_->issue("leaf", {});
      expired_ = pki_->issue("expired", {}, {"20000101000000Z", "20010101000000Z"});
      future_ = pki_->issue("future", {}, {"20400101000000Z", "20410101000000Z"});
      other_leaf_ = pki_->issue_from_other_root("other-leaf");
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    pki_.reset();
    dir_.reset();
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static std::string bundle(const std::vector<std::string>& files) {
    std::string text;
    for (const std::string& file : files) text += test::read_text(file);
    return text;
  }

  static inline std::unique_ptr<test::TempDir> dir_;
  static inline std::unique_ptr<TestPki> pki_;
  static inline std::string setup_error_, leaf_, expired_, future_, other_leaf_;
  const std::time_t now_ = std::time(nullptr);
};

TEST_F(TrustStoreTest, ConfiguredIntermediate_ChainsToTheAnchor) {
  const TrustStore store({pki_->root_pem()}, {pki_->issuing_pem()});
  const X509Ptr leaf = test::load_certificate(leaf_);
  const TrustStore::Result result = store.verify(leaf.get(), {}, now_);
  EXPECT_EQ(result.status, TrustStore::Status::valid) << result.detail;
  ASSERT_EQ(result.chain.size(), 3u);
  EXPECT_EQ(X509_cmp(result.chain[0].get(), leaf.get()), 0);
  EXPECT_EQ(X509_cmp(result.chain[1].get(), test::load_certificate(pki_->issuing_pem()).get()), 0);
  EXPECT_EQ(X509_cmp(result.chain[2].get(), test::load_certificate(pki_->root_pem()).get()), 0);
  EXPECT_NE(result.detail.find("certkey test root"), std::string::npos) << result.detail;
}

TEST_F(TrustStoreTest, SuppliedIntermediate_ChainsToTheAnchor) {
  const TrustStore store({pki_->root_pem()}, {});
  const X509Ptr leaf = test::load_certificate(leaf_);
  const std::vector<X509Ptr> chain = parse_pem_bundle(bundle({pki_->issuing_pem()}));
  const TrustStore::Result result = store.verify(leaf.get(), {chain[0].get()}, now_);
  EXPECT_EQ(result.status, TrustStore::Status::valid) << result.detail;
  EXPECT_EQ(result.chain.size(), 3u);
}

TEST_F(TrustStoreTest, MissingIntermediate_IsUntrusted) {
  const TrustStore store({pki_->root_pem()}, {});
  const X509Ptr leaf = test::load_certificate(leaf_);
  const TrustStore::Result result = store.verify(leaf.get(), {}, now_);
  EXPECT_EQ(result.status, TrustStore::Status::untrusted);
  EXPECT_NE(result.detail.find("no path"), std::string::npos) << result.detail;
  ASSERT_FALSE(result.chain.empty());
  EXPECT_EQ(X509_cmp(result.chain[0].get(), leaf.get()), 0);
}

TEST_F(TrustStoreTest, OtherCa_IsUntrustedEvenWithItsRootSupplied) {
  const TrustStore store({pki_->root_pem()}, {pki_->issuing_pem()});
  const X509Ptr leaf = test::load_certificate(other_leaf_);
  const X509Ptr other_root = test::load_certificate(pki_->other_root_pem());
  EXPECT_EQ(store.verify(leaf.get(), {}, now_).status, TrustStore::Status::untrusted);
  // A root the caller sends is only material for the path, never an anchor.
  EXPECT_EQ(store.verify(leaf.get(), {other_root.get()}, now_).status,
            TrustStore::Status::untrusted);
}

TEST_F(TrustStoreTest, IntermediateConfiguredAsAnchor_DoesNotEndAPath) {
  // No partial chains: a path must reach a configured root.
  const TrustStore store({pki_->issuing_pem()}, {});
  const X509Ptr leaf = test::load_certificate(leaf_);
  EXPECT_EQ(store.verify(leaf.get(), {}, now_).status, TrustStore::Status::untrusted);
}

TEST_F(TrustStoreTest, ExpiredLeaf_IsExpired) {
  const TrustStore store({pki_->root_pem()}, {pki_->issuing_pem()});
  const X509Ptr leaf = test::load_certificate(expired_);
  const TrustStore::Result result = store.verify(leaf.get(), {}, now_);
  EXPECT_EQ(result.status, TrustStore::Status::expired) << result.detail;
  EXPECT_NE(result.detail.find("expired at 2001-01-01T00:00:00Z"), std::string::npos)
      << result.detail;
  EXPECT_EQ(result.chain.size(), 3u);
}

TEST_F(TrustStoreTest, FutureLeaf_IsNotYetValid) {
  const TrustStore store({pki_->root_pem()}, {pki_->issuing_pem()});
  const X509Ptr leaf = test::load_certificate(future_);
  const TrustStore::Result result = store.verify(leaf.get(), {}, now_);
  EXPECT_EQ(result.status, TrustStore::Status::not_yet_valid) << result.detail;
  EXPECT_NE(result.detail.find("2040-01-01T00:00:00Z"), std::string::npos) << result.detail;
}

TEST_F(TrustStoreTest, Verification_UsesTheGivenTime) {
  const TrustStore store({pki_->root_pem()}, {pki_->issuing_pem()});
  const X509Ptr expired = test::load_certificate(expired_);
  const X509Ptr leaf = test::load_certificate(leaf_);
  // 2000-06-01: the expired leaf was valid then, the CAs not yet.
  EXPECT_EQ(store.verify(expired.get(), {}, 959817600).status, TrustStore::Status::not_yet_valid);
  const std::time_t in_60_days = now_ + 60 * 24 * 3600;  // the leaf is valid for 30
  EXPECT_EQ(store.verify(leaf.get(), {}, in_60_days).status, TrustStore::Status::expired);
}

TEST_F(TrustStoreTest, NoAnchors_NothingIsValid) {
  const TrustStore store({}, {pki_->issuing_pem()});
  const X509Ptr leaf = test::load_certificate(leaf_);
  EXPECT_TRUE(store.empty());
  EXPECT_EQ(store.verify(leaf.get(), {}, now_).status, TrustStore::Status::untrusted);
  EXPECT_EQ(store.verify(nullptr, {}, now_).status, TrustStore::Status::untrusted);
}

TEST_F(TrustStoreTest, AnchorFileWithSeveralCertificates_TrustsEach) {
  const std::string both = dir_->path() + "/both-roots.pem";
  test::write_text(both, "a comment line\n" + bundle({pki_->root_pem(), pki_->other_root_pem()}));
  const TrustStore store({both}, {pki_->issuing_pem()});
  EXPECT_EQ(store.anchor_count(), 2u);
  const X509Ptr leaf = test::load_certificate(leaf_);
  const X509Ptr other_leaf = test::load_certificate(other_leaf_);
  EXPECT_EQ(store.verify(leaf.get(), {}, now_).status, TrustStore::Status::valid);
  EXPECT_EQ(store.verify(other_leaf.get(), {}, now_).status, TrustStore::Status::valid);
}

void expect_file_error(const std::vector<std::string>& anchors,
                       const std::vector<std::string>& intermediates, const std::string& needle) {
  try {
    const TrustStore store(anchors, intermediates);
    ADD_FAILURE() << "no error for " << needle;
  } catch (const CertificateError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST_F(TrustStoreTest, UnusableFiles_AreErrorsNamingTheFile) {
  const std::string missing = dir_->path() + "/missing.pem";
  const std::string garbage = dir_->path() + "/garbage.pem";
  const std::string damaged = dir_->path() + "/damaged.pem";
  test::write_text(garbage, "this is not a certificate\n");
  std::string pem = test::read_text(pki_->root_pem());
  pem.replace(pem.find('\n') + 10, 8, "!!!!!!!!");
  test::write_text(damaged, pem);
  expect_file_error({missing}, {}, "trust anchor file: cannot read " + missing);
  expect_file_error({garbage}, {}, garbage + " holds no PEM certificate");
  expect_file_error({pki_->root_pem()}, {damaged},
                    "intermediate file: " + damaged + ": certificate 1 is not valid PEM");
}

TEST(PemBundle, TextAroundTheBlocks_IsIgnored) {
  test::TempDir dir;
  TestPki pki(dir.path());
  const std::string text = "subject=/CN=x\n" + test::read_text(pki.root_pem()) + "trailer\n" +
                           test::read_text(pki.issuing_pem());
  EXPECT_EQ(parse_pem_bundle(text).size(), 2u);
}

TEST(PemBundle, BoundsAndGarbage_AreErrors) {
  test::TempDir dir;
  TestPki pki(dir.path());
  const std::string one = test::read_text(pki.root_pem());
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += one;
  EXPECT_EQ(parse_pem_bundle(nine.substr(0, one.size() * kMaxBundleCertificates)).size(),
            kMaxBundleCertificates);
  EXPECT_THROW(parse_pem_bundle(nine), CertificateError);
  EXPECT_THROW(parse_pem_bundle(one + std::string(kMaxBundleBytes, '\n')), CertificateError);
  EXPECT_THROW(parse_pem_bundle(""), CertificateError);
  EXPECT_THROW(parse_pem_bundle("no PEM here"), CertificateError);
  EXPECT_THROW(parse_pem_bundle("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
               CertificateError);
  std::string encrypted = one;
  encrypted.insert(
      encrypted.find('\n') + 1,
      "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n");
  EXPECT_THROW(parse_pem_bundle(encrypted), CertificateError);
}

}  // namespace
}  // namespace certkey::daemon
