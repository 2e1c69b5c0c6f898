// The PIV applet's shared parts (agent/applets/piv/piv_applet.cpp): the SELECT answer,
// personalisation defaults, and the key access rules (slot PIN policies, the token policy
// that the default PIN must be changed first).
#include <certkey/protocol/aid.hpp>

#include "support/token_fixture.hpp"

namespace certkey::agent::test {
namespace {

constexpr std::uint8_t k9A = u8(KeyRef::authentication);
constexpr std::uint8_t k9C = u8(KeyRef::signature);
constexpr std::uint8_t k9E = u8(KeyRef::card_authentication);

class PivSelect : public TokenFixture {};
class KeyAccess : public TokenFixture {
 protected:
  // A P-256 key in `slot`, generated with the management key (then dropped again by a
  // power cycle, so that only the PIN state matters).
  void generate_p256(std::uint8_t slot, const Buffer& extra = {}) {
    ASSERT_EQ(authenticate(), Sw::ok);
    ASSERT_EQ(generate(slot, Algorithm::ecc_p256, extra).sw, Sw::ok);
    token().power_off();
  }
  Sw sign_once(std::uint8_t slot) { return sign(slot, Algorithm::ecc_p256, sha256({1, 2, 3})).sw; }
};
class PinChangePolicy : public KeyAccess {
 protected:
  piv::Identity identity() const override {
    piv::Identity id = TokenFixture::identity();
    id.require_pin_change = true;
    return id;
  }
};

TEST_F(PivSelect, FullAid_ReturnsApplicationPropertyTemplate) {
  Response r = select();
  ASSERT_EQ(r.sw, Sw::ok);
  auto apt = find_value(r.data, tag::kApplicationProperty);
  ASSERT_TRUE(apt);
  EXPECT_EQ(r.data.size(), 2 + apt->size()) << "nothing after the template";
  EXPECT_EQ(find_value(*apt, tag::kApplicationId), Buffer({0x00, 0x00, 0x10, 0x00, 0x01, 0x00}));
  auto allocation = find_value(*apt, tag::kCoexistentTagAllocation);
  ASSERT_TRUE(allocation);
  EXPECT_EQ(
      find_value(*allocation, tag::kApplicationId),
      Buffer(protocol::kPivAid.begin(), protocol::kPivAid.begin() + protocol::kPivAidPrefixLength));
  const std::string label = "certkey PIV";
  EXPECT_EQ(find_value(*apt, tag::kApplicationLabel), Buffer(label.begin(), label.end()));
}

TEST_F(PivSelect, FreshToken_HasDocumentedDefaults) {
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(authenticate(Algorithm::tdes, kDefaultManagementKey), Sw::ok);
  Response pin = metadata(u8(KeyRef::pin));
  EXPECT_EQ(find_value(pin.data, tag::kMetaIsDefault), Buffer({0x01}));
  EXPECT_EQ(find_value(pin.data, tag::kMetaRetries), Buffer({3, 3}));
  Response puk = metadata(u8(KeyRef::puk));
  EXPECT_EQ(find_value(puk.data, tag::kMetaIsDefault), Buffer({0x01}));
  EXPECT_EQ(find_value(puk.data, tag::kMetaRetries), Buffer({3, 3}));
}

TEST_F(PivSelect, Reboot_KeepsPersonalisation) {
  const std::uint32_t counter = change_counter();
  ASSERT_EQ(verify_pin("000000"), protocol::sw_retries_left(2));
  reboot();
  EXPECT_EQ(change_counter(), counter) << "a second boot must not personalise again";
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(2));
}

TEST_F(KeyAccess, Slot9A_PinOnce_NeedsPinThenSignsRepeatedly) {
  generate_p256(k9A);
  EXPECT_EQ(sign_once(k9A), Sw::security_status_not_satisfied);
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(sign_once(k9A), Sw::ok);
  EXPECT_EQ(sign_once(k9A), Sw::ok);
}

TEST_F(KeyAccess, Slot9C_PinAlways_SecondSignWithoutVerifyReturns6982) {
  generate_p256(k9C);
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(sign_once(k9C), Sw::ok);
  EXPECT_EQ(sign_once(k9C), Sw::security_status_not_satisfied);
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(sign_once(k9C), Sw::ok);
}

TEST_F(KeyAccess, Slot9C_PinAlways_OtherKeyUseDoesNotConsumeIt) {
  generate_p256(k9A);
  generate_p256(k9C);
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(sign_once(k9A), Sw::ok);
  EXPECT_EQ(sign_once(k9C), Sw::ok);
}

TEST_F(KeyAccess, Slot9E_PinNever_SignsWithoutPin) {
  generate_p256(k9E);
  EXPECT_EQ(sign_once(k9E), Sw::ok);
}

TEST_F(KeyAccess, PinPolicyAlwaysFromGenerate_OverridesSlotDefault) {
  generate_p256(k9A, tlv(tag::kPinPolicy, {u8(protocol::PinPolicy::always)}));
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(sign_once(k9A), Sw::ok);
  EXPECT_EQ(sign_once(k9A), Sw::security_status_not_satisfied);
}

TEST_F(KeyAccess, PinPolicyNeverFromGenerate_SignsWithoutPin) {
  generate_p256(k9C, tlv(tag::kPinPolicy, {u8(protocol::PinPolicy::never)}));
  EXPECT_EQ(sign_once(k9C), Sw::ok);
}

TEST_F(KeyAccess, EmptySlot_Returns6A88) {
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(sign_once(k9A), Sw::reference_not_found);
}

TEST_F(PinChangePolicy, DefaultPin_KeyUseRefusedUntilChanged) {
  generate_p256(k9A);
  Response info = token_info();
  EXPECT_EQ(find_value(info.data, tag::kInfoPolicy), Buffer({0x01}));
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(sign_once(k9A), Sw::security_status_not_satisfied);
  ASSERT_EQ(send(Ins::change_reference_data, 0x00, u8(KeyRef::pin),
                 concat({pin_block(kDefaultPin), pin_block("975310")}))
                .sw,
            Sw::ok);
  ASSERT_EQ(verify_pin("975310"), Sw::ok);
  EXPECT_EQ(sign_once(k9A), Sw::ok);
}

}  // namespace
}  // namespace certkey::agent::test
