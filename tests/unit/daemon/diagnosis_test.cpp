// The diagnosis's judgement of certificates (daemon/src/diagnosis/diagnosis.cpp), from facts
// made here: the gathering of facts from pcscd and tokens is tested end to end in
// tests/integration/daemon/daemon_diagnosis_test.cpp.
#include <gtest/gtest.h>

#include <stdexcept>

#include "diagnosis/diagnosis.hpp"

namespace certkey::daemon {
namespace {

CertificateFacts certificate(const std::string& id, const std::string& not_after) {
  CertificateFacts c;
  c.serial = 12345678;
  c.id = id;
  c.subject = "CN=desk holder";
  c.not_before = "2025-01-01T00:00:00Z";
  c.not_after = not_after;
  c.chain = "valid";
  c.revocation = "good";
  return c;
}

const Finding& finding_for(const std::vector<Finding>& findings, const std::string& id) {
  for (const Finding& f : findings) {
    if (f.check == "certificate" && f.certificate == id) return f;
  }
  throw std::runtime_error("no finding for certificate " + id);
}

DiagnosisFacts facts_with(std::vector<CertificateFacts> certificates) {
  DiagnosisFacts facts;
  facts.pcscd_reachable = true;
  facts.now = 1796649231;  // 2026-12-07
  facts.certificates = std::move(certificates);
  return facts;
}

TEST(Diagnosis, ExpiredCertificateInUse_IsAnError) {
  const std::vector<Finding> findings =
      diagnose(facts_with({certificate("01", "2026-06-01T00:00:00Z")}));
  const Finding& f = finding_for(findings, "01");
  EXPECT_EQ(f.status, FindingStatus::error);
  EXPECT_EQ(f.message_en, "The certificate \"CN=desk holder\" expired on 2026-06-01T00:00:00Z.");
}

// After a renewal the superseded certificate waits in a retired slot until retention
// removes it (by default once it has expired): that is no fault of the holder's.
TEST(Diagnosis, ExpiredCertificateInARetiredSlot_IsOk_AndSaysItIsNoLongerUsed) {
  const std::vector<Finding> findings = diagnose(facts_with(
      {certificate("01", "2027-12-01T00:00:00Z"), certificate("05", "2026-06-01T00:00:00Z"),
       certificate("18", "2026-06-01T00:00:00Z")}));
  EXPECT_EQ(finding_for(findings, "01").status, FindingStatus::ok);
  for (const char* retired : {"05", "18"}) {
    const Finding& f = finding_for(findings, retired);
    EXPECT_EQ(f.status, FindingStatus::ok) << f.message_en;
    EXPECT_EQ(f.message_en, "The certificate \"CN=desk holder\" in retired slot " +
                                std::string(retired) +
                                " is an earlier one, kept but no longer used.");
    EXPECT_NE(f.message_zh.find("备用槽位 " + std::string(retired)), std::string::npos)
        << f.message_zh;
  }
}

TEST(Diagnosis, RetiredRange_IsPivs82To95) {
  EXPECT_FALSE(is_retired_id("04"));
  EXPECT_TRUE(is_retired_id("05"));
  EXPECT_TRUE(is_retired_id("0a"));
  EXPECT_TRUE(is_retired_id("18"));
  EXPECT_FALSE(is_retired_id("19"));
  EXPECT_FALSE(is_retired_id("0A"));
  EXPECT_FALSE(is_retired_id("5"));
  EXPECT_FALSE(is_retired_id(""));
}

}  // namespace
}  // namespace certkey::daemon
