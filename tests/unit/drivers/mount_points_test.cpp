// How the SD KEY driver finds cards (drivers/sdkey): mount points at or below the directory
// its reader watches, from /proc/self/mounts.
#include <gtest/gtest.h>

#include "sdkey/sd_command_file.hpp"

namespace certkey::drivers::sdkey {
namespace {

const char* kMounts =
    "/dev/sda1 / ext4 rw,relatime 0 0\n"
    "/dev/mmcblk0p1 /media/alice/SDKEY vfat rw,nosuid 0 0\n"
    "/dev/sdb1 /media/alice/My\\040Card vfat rw 0 0\n"
    "/dev/sdc1 /media/alicex vfat rw 0 0\n"
    "certkey-sdkey /run/certkey/sd fuse.certkey rw 0 0\n"
    "garbage\n";

TEST(MountPoints, AtOrBelowTheWatchedDirectory_InOrder) {
  EXPECT_EQ(mount_points_under(kMounts, "/media/alice"),
            (std::vector<std::string>{"/media/alice/SDKEY", "/media/alice/My Card"}));
  EXPECT_EQ(mount_points_under(kMounts, "/media/alice/"),
            (std::vector<std::string>{"/media/alice/SDKEY", "/media/alice/My Card"}));
  EXPECT_EQ(mount_points_under(kMounts, "/run/certkey/sd"),
            (std::vector<std::string>{"/run/certkey/sd"}));
}

TEST(MountPoints, ASiblingWithTheSamePrefix_IsNotBelow) {
  EXPECT_EQ(mount_points_under(kMounts, "/media/alicex"),
            (std::vector<std::string>{"/media/alicex"}));
  EXPECT_TRUE(mount_points_under(kMounts, "/media/bob").empty());
  EXPECT_TRUE(mount_points_under("", "/media").empty());
}

}  // namespace
}  // namespace certkey::drivers::sdkey
