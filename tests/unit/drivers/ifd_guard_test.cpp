// The IFD handler's entry points (drivers/ifd/ifd_handler.cpp) never let an exception reach
// pcscd: a back end that throws makes the entry point answer IFD_COMMUNICATION_ERROR, and
// the reader stays usable. This binary is its own driver: it supplies create_reader() with
// a back end that throws from whichever call the test names.
extern "C" {
#include <PCSC/ifdhandler.h>
}
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "ifd/ifd_reader.hpp"

namespace certkey::drivers {

const char* const kIfdType = "certkey guard test";

namespace {

// Which of the back end's calls throws next; `none` once it has.
enum class Throw { none, present, power_up, power_down, transmit };
Throw g_throw = Throw::none;

void maybe_throw(Throw here) {
  if (g_throw != here) return;
  g_throw = Throw::none;
  throw std::runtime_error("back end failure");
}

class ThrowingReader final : public IfdReader {
 public:
  bool present() override { return maybe_throw(Throw::present), true; }
  bool power_up(std::vector<std::uint8_t>& atr) override {
    maybe_throw(Throw::power_up);
    atr = {0x3B, 0x80, 0x80, 0x01, 0x01};
    return true;
  }
  void power_down() override { maybe_throw(Throw::power_down); }
  TransmitStatus transmit(Bytes, MutableBytes response, std::size_t& length) override {
    maybe_throw(Throw::transmit);
    response[0] = 0x90, response[1] = 0x00, length = 2;
    return TransmitStatus::ok;
  }
};

}  // namespace

std::unique_ptr<IfdReader> create_reader(const std::string& device_name) {
  if (device_name == "throws") throw std::runtime_error("cannot open the device");
  return std::make_unique<ThrowingReader>();
}

namespace {

constexpr DWORD kLun = 0x10000;

class IfdGuard : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "reader";
    ASSERT_EQ(IFDHCreateChannelByName(kLun, name), IFD_SUCCESS);
  }
  void TearDown() override { IFDHCloseChannel(kLun); }

  RESPONSECODE power_up() {
    UCHAR atr[MAX_ATR_SIZE];
    DWORD length = sizeof atr;
    return IFDHPowerICC(kLun, IFD_POWER_UP, atr, &length);
  }
  RESPONSECODE transmit() {
    UCHAR command[] = {0x00, 0xA4, 0x04, 0x00};
    UCHAR response[258];
    DWORD length = sizeof response;
    SCARD_IO_HEADER pci{SCARD_PROTOCOL_T1, sizeof pci};
    return IFDHTransmitToICC(kLun, pci, command, sizeof command, response, &length, nullptr);
  }
};

TEST_F(IfdGuard, ThrowingCreationIsACommunicationError) {
  char name[] = "throws";
  EXPECT_EQ(IFDHCreateChannelByName(0x20000, name), IFD_COMMUNICATION_ERROR);
}

TEST_F(IfdGuard, EveryCardCallAnswersCommunicationErrorAndTheReaderRecovers) {
  g_throw = Throw::present;
  EXPECT_EQ(IFDHICCPresence(kLun), IFD_COMMUNICATION_ERROR);
  EXPECT_EQ(IFDHICCPresence(kLun), IFD_ICC_PRESENT);

  g_throw = Throw::power_up;
  EXPECT_EQ(power_up(), IFD_COMMUNICATION_ERROR);
  EXPECT_EQ(power_up(), IFD_SUCCESS);

  g_throw = Throw::transmit;
  EXPECT_EQ(transmit(), IFD_COMMUNICATION_ERROR);
  EXPECT_EQ(transmit(), IFD_SUCCESS);  // the reader's lock was released on the way out

  g_throw = Throw::power_down;
  UCHAR atr[MAX_ATR_SIZE];
  DWORD length = sizeof atr;
  EXPECT_EQ(IFDHPowerICC(kLun, IFD_POWER_DOWN, atr, &length), IFD_COMMUNICATION_ERROR);
  EXPECT_EQ(IFDHPowerICC(kLun, IFD_POWER_DOWN, atr, &length), IFD_SUCCESS);
}

}  // namespace
}  // namespace certkey::drivers
