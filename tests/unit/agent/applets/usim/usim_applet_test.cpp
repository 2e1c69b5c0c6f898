// A SIM token: the USIM holds the basic channel, PIV is reached on a logical channel.
#include "support/token_fixture.hpp"

#include <certkey/protocol/aid.hpp>

namespace certkey::agent::test {
namespace {

class SimMedium : public TokenFixture {
 protected:
  piv::Identity identity() const override {
    piv::Identity id = TokenFixture::identity();
    id.medium = protocol::Medium::sim;
    return id;
  }
  void SetUp() override {
    TokenFixture::SetUp();
    // The fixture's boot selected PIV on the basic channel; a fresh power-on gives the USIM.
    token().power_off();
  }
  Response status(std::uint8_t channel_cla = protocol::kClaCertkey) {
    return transmit(short_apdu(channel_cla, protocol::kInsStatus, 0x00, 0x01, {}, 0));
  }
  const Buffer usim_name =
      concat({{0x84, 0x07}, Buffer(protocol::kUsimAid.begin(), protocol::kUsimAid.end())});
};

TEST_F(SimMedium, BasicChannel_HasTheUsimSelectedAtPowerOn) {
  Response r = status();
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(r.data, usim_name);
}

TEST_F(SimMedium, PivOnALogicalChannel_LeavesTheUsimOnTheBasicChannel) {
  Response opened = transmit(short_apdu(protocol::kClaIso, u8(Ins::manage_channel),
                                        protocol::kManageChannelOpen, 0, {}, 1));
  ASSERT_EQ(opened.data, Buffer({0x01}));
  const Buffer rid(protocol::kPivAid.begin(),
                   protocol::kPivAid.begin() + protocol::kPivAidPrefixLength);
  ASSERT_EQ(transmit(short_apdu(0x01, u8(Ins::select), 0x04, 0x00, rid)).sw, Sw::ok);
  EXPECT_EQ(
      transmit(short_apdu(0x01, u8(Ins::verify), 0x00, u8(KeyRef::pin), pin_block(kDefaultPin))).sw,
      Sw::ok);
  EXPECT_EQ(status().data, usim_name);
}

TEST_F(SimMedium, UsimAnswersOnlySelectionAndStatus) {
  EXPECT_EQ(transmit(short_apdu(protocol::kClaCertkey, protocol::kInsStatus, 0x00, 0x0C)).sw,
            Sw::ok);
  EXPECT_EQ(transmit(short_apdu(protocol::kClaCertkey, protocol::kInsStatus, 0x01, 0x00)).sw,
            Sw::incorrect_p1p2);
  EXPECT_EQ(transmit(short_apdu(protocol::kClaIso, u8(Ins::get_version), 0, 0)).sw,
            Sw::ins_not_supported);
}

}  // namespace
}  // namespace certkey::agent::test
