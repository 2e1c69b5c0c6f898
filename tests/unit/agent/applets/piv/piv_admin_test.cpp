// Yubico-compatible administration (agent/applets/piv/piv_admin.cpp): GET VERSION,
// GET SERIAL, RESET (only with PIN and PUK blocked) and SET PIN RETRIES.
#include <certkey/protocol/objects.hpp>

#include "support/token_fixture.hpp"

namespace certkey::agent::test {
namespace {

constexpr std::uint8_t kPin = u8(KeyRef::pin);
constexpr std::uint8_t kPuk = u8(KeyRef::puk);
constexpr std::uint8_t k9A = u8(KeyRef::authentication);

class AdminTest : public TokenFixture {
 protected:
  void block_pin() {
    for (int i = 0; i < 3; ++i) verify_pin("000000");
    ASSERT_EQ(pin_status(), Sw::authentication_blocked);
  }
  void block_puk() {
    for (int i = 0; i < 3; ++i) {
      send(Ins::reset_retry_counter, 0x00, kPin,
           concat({pin_block("00000000"), pin_block("000000")}));
    }
    ASSERT_EQ(find_value(metadata(kPuk).data, tag::kMetaRetries), Buffer({3, 0}));
  }
  Sw reset() { return send(Ins::reset, 0x00, 0x00).sw; }
  Sw set_pin_retries(std::uint8_t pin_tries, std::uint8_t puk_tries) {
    return send(Ins::set_pin_retries, pin_tries, puk_tries).sw;
  }
  Buffer retries(std::uint8_t reference) {
    return find_value(metadata(reference).data, tag::kMetaRetries).value_or(Buffer{});
  }
  Buffer is_default(std::uint8_t reference) {
    return find_value(metadata(reference).data, tag::kMetaIsDefault).value_or(Buffer{});
  }
};
class GetVersion : public AdminTest {};
class GetSerial : public AdminTest {};
class Reset : public AdminTest {};
class SetPinRetries : public AdminTest {};

TEST_F(GetVersion, ReportsYubicoCompatibilityLevel) {
  Response r = send(Ins::get_version, 0x00, 0x00);
  EXPECT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(r.data, Buffer({5, 7, 0}));
  EXPECT_EQ(send(Ins::get_version, 0x01, 0x00).sw, Sw::incorrect_p1p2);
}

TEST_F(GetSerial, ReportsFactorySerialBigEndian) {
  Response r = send(Ins::get_serial, 0x00, 0x00);
  EXPECT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(r.data, Buffer({0x01, 0xC0, 0xFF, 0xEE}));
  EXPECT_EQ(be32(r.data), kSerial);
  EXPECT_EQ(send(Ins::get_serial, 0x00, 0x01).sw, Sw::incorrect_p1p2);
}

// GET CHALLENGE: Le random bytes (00: 256), no PIN needed, and never the same twice.
TEST_F(GetSerial, GetChallengeGivesLeRandomBytes) {
  Response sixteen = transmit(short_apdu(protocol::kClaIso, u8(Ins::get_challenge), 0, 0, {}, 16));
  EXPECT_EQ(sixteen.sw, Sw::ok);
  EXPECT_EQ(sixteen.data.size(), 16u);
  Response all = transmit(short_apdu(protocol::kClaIso, u8(Ins::get_challenge), 0, 0, {}, 0x00));
  EXPECT_EQ(all.sw, Sw::ok);
  EXPECT_EQ(all.data.size(), protocol::kMaxChallenge);
  EXPECT_NE(Buffer(all.data.begin(), all.data.begin() + 16), sixteen.data);
  EXPECT_EQ(transmit(short_apdu(protocol::kClaIso, u8(Ins::get_challenge), 0, 0, {})).sw,
            Sw::wrong_length);  // no Le
  EXPECT_EQ(send(Ins::get_challenge, 0x01, 0x00).sw, Sw::incorrect_p1p2);
}

TEST_F(Reset, FreshToken_Returns6985) { EXPECT_EQ(reset(), Sw::conditions_not_satisfied); }

TEST_F(Reset, OnlyPinBlocked_Returns6985) {
  block_pin();
  EXPECT_EQ(reset(), Sw::conditions_not_satisfied);
}

TEST_F(Reset, OnlyPukBlocked_Returns6985) {
  block_puk();
  EXPECT_EQ(reset(), Sw::conditions_not_satisfied);
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
}

TEST_F(Reset, PinAndPukBlocked_RestoresFactoryState) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  ASSERT_EQ(put_object(protocol::object::kAuthenticationCert, {0x70, 0x00}).sw, Sw::ok);
  ASSERT_EQ(put_object(protocol::object::kRetiredCertFirst, {0x70, 0x00}).sw, Sw::ok);
  const Buffer aes_key = random_bytes(16);
  ASSERT_EQ(send(Ins::set_management_key, protocol::kSetManagementKeyP1, 0xFF,
                 concat({{u8(Algorithm::aes128), u8(KeyRef::management), 16}, aes_key}))
                .sw,
            Sw::ok);
  const Buffer old_chuid = get_object(protocol::object::kChuid).data;
  block_pin();
  block_puk();
  const std::uint32_t counter = change_counter();

  ASSERT_EQ(reset(), Sw::ok);

  EXPECT_GT(change_counter(), counter);
  EXPECT_EQ(retries(kPin), Buffer({3, 3}));
  EXPECT_EQ(retries(kPuk), Buffer({3, 3}));
  EXPECT_EQ(is_default(kPin), Buffer({0x01}));
  EXPECT_EQ(is_default(kPuk), Buffer({0x01}));
  EXPECT_EQ(metadata(k9A).sw, Sw::reference_not_found);
  EXPECT_EQ(get_object(protocol::object::kAuthenticationCert).sw, Sw::not_found);
  EXPECT_EQ(get_object(protocol::object::kRetiredCertFirst).sw, Sw::not_found);
  Response chuid = get_object(protocol::object::kChuid);
  EXPECT_EQ(chuid.sw, Sw::ok);
  EXPECT_NE(chuid.data, old_chuid) << "a new GUID";
  EXPECT_EQ(metadata(u8(KeyRef::attestation)).sw, Sw::ok);
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(authenticate(Algorithm::tdes, kDefaultManagementKey), Sw::ok);
}

TEST_F(Reset, DropsSecurityState) {
  ASSERT_EQ(authenticate(), Sw::ok);
  block_pin();
  block_puk();
  ASSERT_EQ(reset(), Sw::ok);
  EXPECT_EQ(put_object(protocol::object::kAuthenticationCert, {0x01}).sw,
            Sw::security_status_not_satisfied);
}

TEST_F(Reset, StorageFailure_Returns6581AndStaysBlocked) {
  block_pin();
  block_puk();
  token().flash().fail_writes_from(1);
  EXPECT_EQ(reset(), Sw::memory_failure);
  EXPECT_EQ(pin_status(), Sw::authentication_blocked);
}

TEST_F(Reset, WrongP1P2_Returns6A86) {
  EXPECT_EQ(send(Ins::reset, 0x01, 0x00).sw, Sw::incorrect_p1p2);
}

TEST_F(SetPinRetries, NeedsManagementKeyAndPin) {
  EXPECT_EQ(set_pin_retries(5, 4), Sw::security_status_not_satisfied);
  ASSERT_EQ(authenticate(), Sw::ok);
  EXPECT_EQ(set_pin_retries(5, 4), Sw::security_status_not_satisfied);
  token().power_off();
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(set_pin_retries(5, 4), Sw::security_status_not_satisfied);
  EXPECT_EQ(retries(kPin), Buffer({3, 3}));
}

TEST_F(SetPinRetries, NewLimits_ReportedAndPinPukBackToDefault) {
  ASSERT_EQ(send(Ins::change_reference_data, 0x00, kPin,
                 concat({pin_block(kDefaultPin), pin_block("314159")}))
                .sw,
            Sw::ok);
  ASSERT_EQ(send(Ins::change_reference_data, 0x00, kPuk,
                 concat({pin_block(kDefaultPuk), pin_block("27182818")}))
                .sw,
            Sw::ok);
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(verify_pin("314159"), Sw::ok);
  ASSERT_EQ(set_pin_retries(5, 4), Sw::ok);

  EXPECT_EQ(retries(kPin), Buffer({5, 5}));
  EXPECT_EQ(retries(kPuk), Buffer({4, 4}));
  EXPECT_EQ(is_default(kPin), Buffer({0x01}));
  EXPECT_EQ(is_default(kPuk), Buffer({0x01}));
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(5)) << "the PIN must be verified again";
  EXPECT_EQ(verify_pin("000000"), protocol::sw_retries_left(4));
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
}

TEST_F(SetPinRetries, OutOfRange_Returns6A86) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(set_pin_retries(0, 3), Sw::incorrect_p1p2);
  EXPECT_EQ(set_pin_retries(3, 0), Sw::incorrect_p1p2);
  EXPECT_EQ(set_pin_retries(16, 3), Sw::incorrect_p1p2);
}

TEST_F(SetPinRetries, KeepsManagementKeyAndChuid) {
  // Regression (fixed): agent/applets/piv/piv_admin.cpp, set_pin_retries() calls
  // stage_personalisation(), which also writes the DEFAULT management key (3DES 010203..08) and a
  // new CHUID. A token whose management key was changed silently falls back to the publicly known
  // default after SET PIN RETRIES, so anyone can then write objects and generate or import keys;
  // the new CHUID GUID also makes hosts see a different card. Yubico documents only "PIN and PUK
  // are reset to their defaults". Fix: stage only the default PIN and PUK values (SecretHash with
  // is_default = 1) and the new counters in this commit, plus stage_content_change(), not the whole
  // personalisation.
  const Buffer key = random_bytes(32);
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(send(Ins::set_management_key, protocol::kSetManagementKeyP1, 0xFF,
                 concat({{u8(Algorithm::aes256), u8(KeyRef::management), 32}, key}))
                .sw,
            Sw::ok);
  const Buffer chuid = get_object(protocol::object::kChuid).data;
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  ASSERT_EQ(set_pin_retries(5, 5), Sw::ok);

  Response meta = metadata(u8(KeyRef::management));
  EXPECT_EQ(find_value(meta.data, tag::kMetaAlgorithm), Buffer({u8(Algorithm::aes256)}));
  EXPECT_EQ(find_value(meta.data, tag::kMetaIsDefault), Buffer({0x00}));
  token().power_off();
  EXPECT_EQ(authenticate(Algorithm::aes256, key), Sw::ok);
  EXPECT_EQ(get_object(protocol::object::kChuid).data, chuid);
}

}  // namespace
}  // namespace certkey::agent::test
