// What the SD KEY driver agrees to open as a card's command file (drivers/sdkey): pcscd runs
// as root and writes to it, so a file system it finds must not be able to point it anywhere
// else. (Opening a real command file is covered through FUSE by integration.sdkey.)
#include "sdkey/sd_command_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace certkey::drivers::sdkey {
namespace {

class CommandFileCandidates : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "sdkey-" + std::to_string(::getpid());
    ::mkdir(dir_.c_str(), 0700);
    struct stat st {};
    ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
    device_ = st.st_dev;
    victim_ = dir_ + "/victim";
    std::ofstream(victim_) << std::string(protocol::sd::kFileSize, 'v');
  }
  void TearDown() override {
    for (const char* name : {"/CERTKEY.CMD", "/victim"}) ::unlink((dir_ + name).c_str());
    ::rmdir(dir_.c_str());
  }
  std::string command_file() const { return dir_ + "/" + protocol::sd::kCommandFileName; }
  std::string dir_, victim_;
  dev_t device_ = 0;
};

TEST_F(CommandFileCandidates, ASymbolicLink_IsNotFollowed) {
  ASSERT_EQ(::symlink(victim_.c_str(), command_file().c_str()), 0);
  SdCommandFile file(command_file());
  EXPECT_FALSE(file.open(device_));
}

TEST_F(CommandFileCandidates, AFifo_IsNotOpened) {
  ASSERT_EQ(::mkfifo(command_file().c_str(), 0600), 0);
  SdCommandFile file(command_file());
  EXPECT_FALSE(file.open(device_));
}

TEST_F(CommandFileCandidates, AFileOfAnotherSize_OrOnAnotherDevice_IsNoCard) {
  std::ofstream(command_file()) << "short";
  SdCommandFile short_file(command_file());
  EXPECT_FALSE(short_file.open(device_));
  ::unlink(command_file().c_str());
  std::ofstream(command_file()) << std::string(protocol::sd::kFileSize, '\0');
  SdCommandFile elsewhere(command_file());
  EXPECT_FALSE(elsewhere.open(device_ + 1));
}

}  // namespace
}  // namespace certkey::drivers::sdkey
