// The dispatcher below the applets (agent/core/token.cpp): SELECT by AID, CLA checks,
// command chaining and GET RESPONSE, driven with raw APDUs through SimToken.
#include <certkey/protocol/aid.hpp>
#include <certkey/protocol/objects.hpp>

#include "support/token_fixture.hpp"

namespace certkey::agent::test {
namespace {

using protocol::kClaIso;

class Dispatch : public TokenFixture {};
class Chaining : public TokenFixture {};
class GetResponse : public TokenFixture {
 protected:
  // A 500-byte object: GET DATA answers 53 82 01 F4 <500>, 504 bytes in all.
  void SetUp() override {
    TokenFixture::SetUp();
    ASSERT_EQ(authenticate(), Sw::ok);
    content_ = random_bytes(500);
    ASSERT_EQ(put_object(protocol::object::kAuthenticationCert, content_).sw, Sw::ok);
  }
  Buffer get_data_apdu(std::optional<std::uint8_t> le) const {
    return short_apdu(kClaIso, u8(Ins::get_data), 0x3F, 0xFF,
                      object_tag(protocol::object::kAuthenticationCert), le);
  }
  Buffer expected() const { return concat({{0x53, 0x82, 0x01, 0xF4}, content_}); }
  Buffer content_;
};

Buffer get_response_apdu(std::uint8_t le = 0x00) {
  return short_apdu(kClaIso, u8(Ins::get_response), 0, 0, {}, le);
}

TEST_F(Dispatch, Select_RidPrefix_SelectsPiv) {
  const Buffer rid(protocol::kPivAid.begin(), protocol::kPivAid.begin() + 5);
  Response r = transmit(short_apdu(kClaIso, u8(Ins::select), 0x04, 0x00, rid, 0x00));
  EXPECT_EQ(r.sw, Sw::ok);
  EXPECT_TRUE(find_value(r.data, tag::kApplicationProperty));
}

TEST_F(Dispatch, Select_UnknownAid_Returns6A82) {
  const Buffer aid = {0xA0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01};
  EXPECT_EQ(transmit(short_apdu(kClaIso, u8(Ins::select), 0x04, 0x00, aid)).sw, Sw::not_found);
}

TEST_F(Dispatch, Select_ShorterThanRid_Returns6A82) {
  const Buffer aid(protocol::kPivAid.begin(), protocol::kPivAid.begin() + 4);
  EXPECT_EQ(transmit(short_apdu(kClaIso, u8(Ins::select), 0x04, 0x00, aid)).sw, Sw::not_found);
}

TEST_F(Dispatch, Select_AidLongerThanPiv_Returns6A82) {
  Buffer aid(protocol::kPivAid.begin(), protocol::kPivAid.end());
  aid.push_back(0x00);
  EXPECT_EQ(transmit(short_apdu(kClaIso, u8(Ins::select), 0x04, 0x00, aid)).sw, Sw::not_found);
}

TEST_F(Dispatch, Select_ByFileId_Returns6A82) {
  EXPECT_EQ(transmit(short_apdu(kClaIso, u8(Ins::select), 0x00, 0x00, {0x3F, 0x00})).sw,
            Sw::not_found);
}

TEST_F(Dispatch, Select_NoData_Returns6700) {
  EXPECT_EQ(transmit(short_apdu(kClaIso, u8(Ins::select), 0x04, 0x00)).sw, Sw::wrong_length);
}

TEST_F(Dispatch, UnknownClass_Returns6E00) {
  EXPECT_EQ(transmit(short_apdu(0x40, u8(Ins::get_version), 0, 0)).sw, Sw::cla_not_supported);
}

TEST_F(Dispatch, ClosedLogicalChannel_Returns6881) {
  EXPECT_EQ(transmit(short_apdu(0x01, u8(Ins::get_version), 0, 0)).sw, Sw::channel_not_supported);
}

TEST_F(Dispatch, ManageChannel_OpensSelectsOnItAndCloses) {
  Response opened = transmit(
      short_apdu(kClaIso, u8(Ins::manage_channel), protocol::kManageChannelOpen, 0, {}, 1));
  ASSERT_EQ(opened.sw, Sw::ok);
  ASSERT_EQ(opened.data, Buffer({0x01}));
  // A new channel has nothing selected, until SELECT on it.
  EXPECT_EQ(transmit(short_apdu(0x01, u8(Ins::get_version), 0, 0)).sw,
            Sw::conditions_not_satisfied);
  const Buffer rid(protocol::kPivAid.begin(),
                   protocol::kPivAid.begin() + protocol::kPivAidPrefixLength);
  EXPECT_EQ(transmit(short_apdu(0x01, u8(Ins::select), 0x04, 0x00, rid)).sw, Sw::ok);
  EXPECT_EQ(transmit(short_apdu(0x01, u8(Ins::get_version), 0, 0)).sw, Sw::ok);
  EXPECT_EQ(
      transmit(short_apdu(kClaIso, u8(Ins::manage_channel), protocol::kManageChannelClose, 1)).sw,
      Sw::ok);
  EXPECT_EQ(transmit(short_apdu(0x01, u8(Ins::get_version), 0, 0)).sw, Sw::channel_not_supported);
}

TEST_F(Dispatch, ManageChannel_AllThreeThenNoneFree) {
  for (std::uint8_t channel = 1; channel <= 3; ++channel) {
    Response r = transmit(
        short_apdu(kClaIso, u8(Ins::manage_channel), protocol::kManageChannelOpen, 0, {}, 1));
    EXPECT_EQ(r.data, Buffer({channel}));
  }
  EXPECT_EQ(
      transmit(short_apdu(kClaIso, u8(Ins::manage_channel), protocol::kManageChannelOpen, 0, {}, 1))
          .sw,
      Sw::channel_not_supported);
  EXPECT_EQ(
      transmit(short_apdu(kClaIso, u8(Ins::manage_channel), protocol::kManageChannelClose, 0)).sw,
      Sw::incorrect_p1p2);  // the basic channel cannot be closed
}

TEST_F(Dispatch, ClosingAChannel_KeepsPinStateWhilePivIsSelectedOnAnother) {
  transmit(short_apdu(kClaIso, u8(Ins::manage_channel), protocol::kManageChannelOpen, 0, {}, 1));
  const Buffer rid(protocol::kPivAid.begin(),
                   protocol::kPivAid.begin() + protocol::kPivAidPrefixLength);
  // PIV is the basic channel's default here and is selected on channel 1 too.
  ASSERT_EQ(transmit(short_apdu(0x01, u8(Ins::select), 0x04, 0x00, rid)).sw, Sw::ok);
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  transmit(short_apdu(kClaIso, u8(Ins::manage_channel), protocol::kManageChannelClose, 1));
  EXPECT_EQ(pin_status(), Sw::ok);
}

TEST_F(Dispatch, UnknownInstruction_Returns6D00) {
  EXPECT_EQ(transmit(short_apdu(kClaIso, 0x02, 0, 0)).sw, Sw::ins_not_supported);
  EXPECT_EQ(transmit(short_apdu(protocol::kClaCertkey, u8(Ins::verify), 0, 0x80)).sw,
            Sw::ins_not_supported);
}

TEST_F(Dispatch, MalformedApdu_Returns6700) {
  EXPECT_EQ(transmit({0x00, 0xA4, 0x04}).sw, Sw::wrong_length);
  EXPECT_EQ(transmit({0x00, 0x20, 0x00, 0x80, 0x08, 0x31}).sw, Sw::wrong_length);
  EXPECT_EQ(transmit({0x00, 0xA4, 0x04, 0x00, 0x00, 0x01}).sw, Sw::wrong_length);
}

TEST_F(Dispatch, GetVersion_AnswersWithCompatibilityVersion) {
  Response r = send(Ins::get_version, 0, 0);
  EXPECT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(r.data.size(), 3u);
}

TEST_F(Chaining, InterruptedByAnotherInstruction_Returns6883) {
  ASSERT_EQ(authenticate(), Sw::ok);
  const Buffer first = concat({object_tag(protocol::object::kPrintedInformation), {0x53, 0x02}});
  ASSERT_EQ(
      transmit(short_apdu(kClaIso | protocol::kClaChainBit, u8(Ins::put_data), 0x3F, 0xFF, first))
          .sw,
      Sw::ok);
  EXPECT_EQ(transmit(short_apdu(kClaIso, u8(Ins::get_data), 0x3F, 0xFF, {0x01, 0x02})).sw,
            Sw::last_command_expected);
  // The chain is gone: the same object is still absent.
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(get_object(protocol::object::kPrintedInformation).sw, Sw::not_found);
}

TEST_F(Chaining, BlocksLongerThanLargestCommand_Returns6700) {
  ASSERT_EQ(authenticate(), Sw::ok);
  const Buffer block(protocol::kShortMaxLc, 0xAB);
  Sw sw = Sw::ok;
  std::size_t sent = 0;
  while (sw == Sw::ok && sent <= protocol::kMaxCommandData) {
    sw =
        transmit(short_apdu(kClaIso | protocol::kClaChainBit, u8(Ins::put_data), 0x3F, 0xFF, block))
            .sw;
    sent += block.size();
  }
  EXPECT_EQ(sw, Sw::wrong_length);
  EXPECT_GT(sent, protocol::kMaxCommandData);
}

TEST_F(Chaining, ChainedSelect_AssembledBeforeDispatch) {
  const Buffer aid(protocol::kPivAid.begin(), protocol::kPivAid.end());
  const Buffer head(aid.begin(), aid.begin() + 3), tail(aid.begin() + 3, aid.end());
  ASSERT_EQ(
      transmit(short_apdu(kClaIso | protocol::kClaChainBit, u8(Ins::select), 0x04, 0x00, head)).sw,
      Sw::ok);
  Response r = transmit(short_apdu(kClaIso, u8(Ins::select), 0x04, 0x00, tail, 0x00));
  EXPECT_EQ(r.sw, Sw::ok);
  EXPECT_TRUE(find_value(r.data, tag::kApplicationProperty));
}

TEST_F(GetResponse, NothingPending_Returns6985) {
  EXPECT_EQ(transmit(get_response_apdu()).sw, Sw::conditions_not_satisfied);
}

TEST_F(GetResponse, LongResponse_SplitInto256BytesAnd61xx) {
  Response first = transmit(get_data_apdu(0x00));
  ASSERT_EQ(first.data.size(), 256u);
  ASSERT_EQ(first.sw, protocol::sw_bytes_remaining(504 - 256));
  Response rest = transmit(get_response_apdu());
  EXPECT_EQ(rest.sw, Sw::ok);
  EXPECT_EQ(concat({first.data, rest.data}), expected());
}

TEST_F(GetResponse, MoreThan255Left_Reports6100) {
  Response first = transmit(get_data_apdu(0x10));  // Le = 16
  ASSERT_EQ(first.data.size(), 16u);
  EXPECT_EQ(first.sw, protocol::sw_bytes_remaining(504 - 16));
  EXPECT_EQ(protocol::to_u16(first.sw), 0x6100);
}

TEST_F(GetResponse, ShortLe_DeliversInPiecesOfLe) {
  Buffer all = transmit(get_data_apdu(0x00)).data;
  Response part = transmit(get_response_apdu(0x08));
  ASSERT_EQ(part.data.size(), 8u);
  EXPECT_EQ(part.sw, protocol::sw_bytes_remaining(504 - 256 - 8));
  all.insert(all.end(), part.data.begin(), part.data.end());
  Response rest = transmit(get_response_apdu());
  EXPECT_EQ(rest.sw, Sw::ok);
  all.insert(all.end(), rest.data.begin(), rest.data.end());
  EXPECT_EQ(all, expected());
}

TEST_F(GetResponse, ExtendedLe_DeliversWholeResponse) {
  Response r = transmit(extended_apdu(kClaIso, u8(Ins::get_data), 0x3F, 0xFF,
                                      object_tag(protocol::object::kAuthenticationCert), 0x0000));
  EXPECT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(r.data, expected());
}

TEST_F(GetResponse, WrongP1P2_Returns6A86) {
  transmit(get_data_apdu(0x00));
  EXPECT_EQ(transmit(short_apdu(kClaIso, u8(Ins::get_response), 0x01, 0x00, {}, 0x00)).sw,
            Sw::incorrect_p1p2);
}

TEST_F(GetResponse, AnotherCommand_DropsPendingResponse) {
  ASSERT_EQ((protocol::to_u16(transmit(get_data_apdu(0x00)).sw) & 0xFF00), 0x6100);
  ASSERT_EQ(send(Ins::get_version, 0, 0).sw, Sw::ok);
  EXPECT_EQ(transmit(get_response_apdu()).sw, Sw::conditions_not_satisfied);
}

TEST_F(GetResponse, PowerOff_DropsPendingResponse) {
  ASSERT_EQ((protocol::to_u16(transmit(get_data_apdu(0x00)).sw) & 0xFF00), 0x6100);
  token().power_off();
  EXPECT_EQ(transmit(get_response_apdu()).sw, Sw::conditions_not_satisfied);
}

}  // namespace
}  // namespace certkey::agent::test
