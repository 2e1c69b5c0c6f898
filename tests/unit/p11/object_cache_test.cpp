// The object cache's file format and its checks (pkcs11-module/src/object_cache.hpp,
// docs/pkcs11.md 7.1), on files in a scratch directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "object_cache.hpp"

namespace certkey::p11 {
namespace {

CachedObjects sample() {
  CachedObjects objects{0xD098C902, 7, {}};
  objects.slots.push_back({0x9A, 0x11, 0x01, 0x01, Bytes(300, 0x30), Bytes{0x86, 0x41, 0x04}});
  objects.slots.push_back({0x82, 0x11, 0x01, 0x01, {}, Bytes{0x86, 0x01, 0x04}});
  objects.slots.push_back({0x9E, 0x00, 0x00, 0x00, Bytes(10, 0x31), {}});  // a certificate alone
  return objects;
}

TEST(ObjectCacheFormat, RoundTrips) {
  const CachedObjects objects = sample();
  const std::optional<CachedObjects> back = decode_cache(encode_cache(objects));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->serial, objects.serial);
  EXPECT_EQ(back->change_counter, objects.change_counter);
  EXPECT_EQ(back->slots, objects.slots);
}

TEST(ObjectCacheFormat, AnythingButWhatItWritesIsRefused) {
  const std::string text = encode_cache(sample());
  EXPECT_FALSE(decode_cache(""));
  EXPECT_FALSE(decode_cache(text.substr(0, text.size() - 1))) << "no final newline";
  EXPECT_FALSE(decode_cache(text + "slot 9a 11 01 01 - -\n" + "x\n"));
  std::string upper = text;
  upper[upper.find("d098")] = 'D';
  EXPECT_FALSE(decode_cache(upper)) << "upper-case hex is not what encode_cache writes";
  std::string odd = text;
  odd.insert(odd.find(" 8641"), "3");
  EXPECT_FALSE(decode_cache(odd)) << "odd hex";
  std::string extra_space = text;
  extra_space.insert(extra_space.find("counter"), " ");
  EXPECT_FALSE(decode_cache(extra_space));
  CachedObjects many = sample();
  many.slots.resize(26, many.slots[0]);
  EXPECT_FALSE(decode_cache(encode_cache(many))) << "more slots than a token has";
  CachedObjects long_certificate = sample();
  long_certificate.slots[0].certificate.assign(4097, 0x30);
  EXPECT_FALSE(decode_cache(encode_cache(long_certificate)));
}

class ObjectCacheFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/certkey-object-cache-XXXXXX";
    ASSERT_TRUE(::mkdtemp(pattern));
    root_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string file() const { return root_ + "/certkey/d098c902.objects"; }
  std::string root_;
};

TEST_F(ObjectCacheFiles, StoresWithMode0600AndLoadsOnlyTheSameTokenAndCounter) {
  ObjectCache cache(root_ + "/certkey");
  cache.store(sample());
  struct stat st {};
  ASSERT_EQ(::stat(file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((root_ + "/certkey").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(cache.load(0xD098C902, 7), sample().slots);
  EXPECT_FALSE(cache.load(0xD098C902, 8)) << "another change counter";
  EXPECT_FALSE(cache.load(0x11111111, 7)) << "another token";
  // No temporary file is left beside it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(root_ + "/certkey"), {}), 1);
}

TEST_F(ObjectCacheFiles, RefusesAFileOthersCanReadOrALink) {
  ObjectCache cache(root_ + "/certkey");
  cache.store(sample());
  ASSERT_EQ(::chmod(file().c_str(), 0640), 0);
  EXPECT_FALSE(cache.load(0xD098C902, 7));
  ASSERT_EQ(::chmod(file().c_str(), 0600), 0);
  ASSERT_EQ(::rename(file().c_str(), (root_ + "/elsewhere").c_str()), 0);
  ASSERT_EQ(::symlink((root_ + "/elsewhere").c_str(), file().c_str()), 0);
  EXPECT_FALSE(cache.load(0xD098C902, 7)) << "a symbolic link is not followed";
}

TEST_F(ObjectCacheFiles, WithoutADirectoryNothingIsKeptAndNothingFails) {
  ObjectCache nowhere("/dev/null/certkey");
  nowhere.store(sample());
  EXPECT_FALSE(nowhere.load(0xD098C902, 7));
  ObjectCache none("");
  none.store(sample());
  EXPECT_FALSE(none.load(0xD098C902, 7));
}

}  // namespace
}  // namespace certkey::p11
