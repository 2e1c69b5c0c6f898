// Renewals in progress survive the daemon (daemon/src/service/renewal_journal.*): what one
// journal wrote, the next one reads; a damaged file is an error, not an empty journal.
#include "service/renewal_journal.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "api/error_code.hpp"

namespace certkey::daemon {
namespace {

class Journal : public ::testing::Test {
 protected:
  void TearDown() override { ::unlink(path_.c_str()); }
  std::string path_ = ::testing::TempDir() + "renewals-" + std::to_string(::getpid()) + ".json";
};

TEST_F(Journal, WhatOneDaemonWrote_TheNextReads) {
  std::string id;
  {
    RenewalJournal journal(path_);
    Renewal r;
    r.serial = 12345678;
    r.certificate_id = "01";
    r.key_id = "05";
    r.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n...";
    r.origin = "https://ca.example.cn";
    id = journal.add(r).id;
    EXPECT_EQ(id.size(), 32u);
  }
  RenewalJournal reopened(path_);
  auto found = reopened.find(id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->serial, 12345678u);
  EXPECT_EQ(found->key_id, "05");
  EXPECT_EQ(found->origin, "https://ca.example.cn");
  EXPECT_FALSE(found->created.empty());
  reopened.remove(id);
  EXPECT_FALSE(RenewalJournal(path_).find(id));
}

TEST_F(Journal, ADamagedFile_IsAnError) {
  std::ofstream(path_) << "{\"renewals\": [{\"id\": 1";
  EXPECT_THROW(RenewalJournal{path_}, ApiError);
}

}  // namespace
}  // namespace certkey::daemon
