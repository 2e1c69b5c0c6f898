// VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER and the management key
// (agent/applets/piv/piv_auth.cpp), with the PIN rules of DESIGN.md section 3: blocked means
// 6983 without comparing, the decremented counter is persisted before comparing, and a
// failed write fails closed.
#include <certkey/protocol/objects.hpp>

#include "support/token_fixture.hpp"

namespace certkey::agent::test {
namespace {

constexpr std::uint8_t kPin = u8(KeyRef::pin);
constexpr std::uint8_t kPuk = u8(KeyRef::puk);
constexpr std::uint8_t kManagement = u8(KeyRef::management);

class PinVerify : public TokenFixture {
 protected:
  // GET METADATA tag 06: {limit, remaining}.
  Buffer retries(std::uint8_t reference) {
    Response r = metadata(reference);
    EXPECT_EQ(r.sw, Sw::ok);
    return find_value(r.data, tag::kMetaRetries).value_or(Buffer{});
  }
  bool management_authenticated() {
    // PUT DATA is the cheapest command that needs the management key.
    return put_object(protocol::object::kPrintedInformation, {0x01}).sw == Sw::ok;
  }
};
class ChangeReferenceData : public PinVerify {
 protected:
  Sw change(std::uint8_t reference, const std::string& old_value, const std::string& new_value) {
    return send(Ins::change_reference_data, 0x00, reference,
                concat({pin_block(old_value), pin_block(new_value)}))
        .sw;
  }
};
class ResetRetryCounter : public ChangeReferenceData {
 protected:
  Sw unblock(const std::string& puk, const std::string& new_pin) {
    return send(Ins::reset_retry_counter, 0x00, kPin, concat({pin_block(puk), pin_block(new_pin)}))
        .sw;
  }
  void block_pin() {
    for (int i = 0; i < 3; ++i) verify_pin("000000");
    ASSERT_EQ(pin_status(), Sw::authentication_blocked);
  }
};
class ManagementKeyAuth : public PinVerify {
 protected:
  // Step one of mutual authentication; returns the witness W decrypted with `key`.
  Buffer witness(const Buffer& key = kDefaultManagementKey, Algorithm algorithm = Algorithm::tdes) {
    Response r = send(Ins::general_authenticate, u8(algorithm), kManagement,
                      tlv(tag::kDynamicAuth, tlv(tag::kWitness, {})));
    EXPECT_EQ(r.sw, Sw::ok);
    auto inner = find_value(r.data, tag::kDynamicAuth);
    auto encrypted = inner ? find_value(*inner, tag::kWitness) : std::nullopt;
    EXPECT_TRUE(encrypted && encrypted->size() == block_size(algorithm));
    return encrypted ? block_decrypt(algorithm, key, *encrypted) : Buffer{};
  }
  Buffer mutual_answer(const Buffer& decrypted_witness, std::size_t block = 8) {
    return tlv(tag::kDynamicAuth, concat({tlv(tag::kWitness, decrypted_witness),
                                          tlv(tag::kChallenge, random_bytes(block))}));
  }
  Response answer(const Buffer& data, Algorithm algorithm = Algorithm::tdes) {
    return send(Ins::general_authenticate, u8(algorithm), kManagement, data);
  }
  // Step one of external authentication; returns the challenge C.
  Buffer challenge() {
    Response r = send(Ins::general_authenticate, u8(Algorithm::tdes), kManagement,
                      tlv(tag::kDynamicAuth, tlv(tag::kChallenge, {})));
    EXPECT_EQ(r.sw, Sw::ok);
    auto inner = find_value(r.data, tag::kDynamicAuth);
    auto value = inner ? find_value(*inner, tag::kChallenge) : std::nullopt;
    EXPECT_TRUE(value && value->size() == 8);
    return value.value_or(Buffer{});
  }
};
class SetManagementKey : public ManagementKeyAuth {
 protected:
  Sw set_key(Algorithm algorithm, const Buffer& key, std::uint8_t p2 = 0xFF) {
    return send(Ins::set_management_key, protocol::kSetManagementKeyP1, p2,
                concat({{u8(algorithm), kManagement, static_cast<std::uint8_t>(key.size())}, key}))
        .sw;
  }
};

// ---- VERIFY ------------------------------------------------------------------------------

TEST_F(PinVerify, StatusQuery_FreshToken_Returns63C3) {
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(3));
}

TEST_F(PinVerify, CorrectPin_Returns9000AndStatusIsVerified) {
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(pin_status(), Sw::ok);
}

TEST_F(PinVerify, WrongPin_Returns63C2AndPersistsDecrement) {
  EXPECT_EQ(verify_pin("654321"), protocol::sw_retries_left(2));
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(2));
  EXPECT_EQ(retries(kPin), Buffer({3, 2}));
  reboot();
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(2));
}

TEST_F(PinVerify, CorrectPinAfterWrongOne_RestoresCounter) {
  ASSERT_EQ(verify_pin("654321"), protocol::sw_retries_left(2));
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(retries(kPin), Buffer({3, 3}));
}

TEST_F(PinVerify, WrongPinAfterVerified_DropsVerification) {
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(verify_pin("654321"), protocol::sw_retries_left(2));
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(2));
}

TEST_F(PinVerify, BlockedPin_Returns6983WithoutCompareOrDecrement) {
  EXPECT_EQ(verify_pin("000000"), protocol::sw_retries_left(2));
  EXPECT_EQ(verify_pin("000000"), protocol::sw_retries_left(1));
  EXPECT_EQ(verify_pin("000000"), protocol::sw_retries_left(0));
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::authentication_blocked) << "the right PIN is not compared";
  EXPECT_EQ(verify_pin("000000"), Sw::authentication_blocked);
  EXPECT_EQ(pin_status(), Sw::authentication_blocked);
  EXPECT_EQ(retries(kPin), Buffer({3, 0}));
}

TEST_F(PinVerify, CounterWriteFails_CorrectPinFailsClosed) {
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  token().flash().fail_writes_from(1);  // the decremented counter cannot be persisted
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::memory_failure);
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(3))
      << "a failed VERIFY must not leave the PIN verified";
  EXPECT_EQ(retries(kPin), Buffer({3, 3}));
}

TEST_F(PinVerify, CounterWriteTornAfterHeader_CorrectPinFailsClosed) {
  token().flash().fail_writes_from(2);  // entry header written, payload not
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::memory_failure);
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(3));
  reboot();
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(3));
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
}

TEST_F(PinVerify, RestoreWriteFails_CounterStaysDecremented) {
  token().flash().fail_writes_from(3);  // decrement (2 writes) succeeds, the restore does not
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::memory_failure);
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(2));
}

TEST_F(PinVerify, Logout_DropsVerification) {
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(send(Ins::verify, protocol::kVerifyP1Logout, kPin).sw, Sw::ok);
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(3));
}

TEST_F(PinVerify, PowerOff_DropsVerification) {
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  token().power_off();
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(3));
}

TEST_F(PinVerify, ReselectKeepsVerification) {
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  ASSERT_EQ(select().sw, Sw::ok);
  EXPECT_EQ(pin_status(), Sw::ok);
}

TEST_F(PinVerify, MalformedPinBlock_Returns6A80WithoutAttempt) {
  EXPECT_EQ(verify_pin("12345"), Sw::incorrect_data);  // shorter than 6
  EXPECT_EQ(send(Ins::verify, 0x00, kPin, {'1', '2', '3', '4', '5', '6', 0xFF, '7'}).sw,
            Sw::incorrect_data);  // data after the padding
  EXPECT_EQ(send(Ins::verify, 0x00, kPin, {'1', '2', '3', '4', '5', '6'}).sw, Sw::incorrect_data);
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(3));
}

TEST_F(PinVerify, OtherReferenceOrP1_Rejected) {
  EXPECT_EQ(send(Ins::verify, 0x00, kPuk, pin_block(kDefaultPuk)).sw, Sw::reference_not_found);
  EXPECT_EQ(send(Ins::verify, 0x01, kPin, pin_block(kDefaultPin)).sw, Sw::incorrect_p1p2);
}

TEST_F(PinVerify, Verify_DoesNotChangeChangeCounter) {
  const std::uint32_t before = change_counter();
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  ASSERT_EQ(verify_pin("000000"), protocol::sw_retries_left(2));
  EXPECT_EQ(change_counter(), before);
}

// ---- CHANGE REFERENCE DATA ---------------------------------------------------------------

TEST_F(ChangeReferenceData, ChangePin_NewPinWorksOldDoesNot) {
  ASSERT_EQ(change(kPin, kDefaultPin, "24680135"), Sw::ok);
  EXPECT_EQ(verify_pin(kDefaultPin), protocol::sw_retries_left(2));
  EXPECT_EQ(verify_pin("24680135"), Sw::ok);
  Response meta = metadata(kPin);
  EXPECT_EQ(find_value(meta.data, tag::kMetaIsDefault), Buffer({0x00}));
}

TEST_F(ChangeReferenceData, ChangePin_IncrementsChangeCounter) {
  const std::uint32_t before = change_counter();
  ASSERT_EQ(change(kPin, kDefaultPin, "246801"), Sw::ok);
  EXPECT_EQ(change_counter(), before + 1);
}

TEST_F(ChangeReferenceData, WrongOldPin_DecrementsAndKeepsPin) {
  EXPECT_EQ(change(kPin, "999999", "246801"), protocol::sw_retries_left(2));
  EXPECT_EQ(verify_pin("246801"), protocol::sw_retries_left(1));
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
}

TEST_F(ChangeReferenceData, BlockedPin_Returns6983) {
  for (int i = 0; i < 3; ++i) verify_pin("000000");
  EXPECT_EQ(change(kPin, kDefaultPin, "246801"), Sw::authentication_blocked);
}

TEST_F(ChangeReferenceData, ChangeBackToDefault_FlaggedDefaultAgain) {
  ASSERT_EQ(change(kPin, kDefaultPin, "246801"), Sw::ok);
  ASSERT_EQ(change(kPin, "246801", kDefaultPin), Sw::ok);
  EXPECT_EQ(find_value(metadata(kPin).data, tag::kMetaIsDefault), Buffer({0x01}));
}

TEST_F(ChangeReferenceData, ChangePuk_NewPukUnblocksPin) {
  ASSERT_EQ(change(kPuk, kDefaultPuk, "87654321"), Sw::ok);
  EXPECT_EQ(find_value(metadata(kPuk).data, tag::kMetaIsDefault), Buffer({0x00}));
  EXPECT_EQ(send(Ins::reset_retry_counter, 0x00, kPin,
                 concat({pin_block("87654321"), pin_block("135790")}))
                .sw,
            Sw::ok);
  EXPECT_EQ(verify_pin("135790"), Sw::ok);
}

TEST_F(ChangeReferenceData, WrongLengthOrReference_Rejected) {
  EXPECT_EQ(send(Ins::change_reference_data, 0x00, kPin, pin_block(kDefaultPin)).sw,
            Sw::incorrect_data);
  EXPECT_EQ(change(kPin, kDefaultPin, "123"), Sw::incorrect_data);
  EXPECT_EQ(change(kManagement, kDefaultPin, "246801"), Sw::reference_not_found);
  EXPECT_EQ(pin_status(), protocol::sw_retries_left(3));
}

// ---- RESET RETRY COUNTER -----------------------------------------------------------------

TEST_F(ResetRetryCounter, WithPuk_UnblocksPinWithNewValue) {
  block_pin();
  ASSERT_EQ(unblock(kDefaultPuk, "112233"), Sw::ok);
  EXPECT_EQ(retries(kPin), Buffer({3, 3}));
  EXPECT_EQ(verify_pin("112233"), Sw::ok);
  EXPECT_EQ(find_value(metadata(kPin).data, tag::kMetaIsDefault), Buffer({0x00}));
}

TEST_F(ResetRetryCounter, WrongPuk_DecrementsPukAndKeepsPinBlocked) {
  block_pin();
  EXPECT_EQ(unblock("00000000", "112233"), protocol::sw_retries_left(2));
  EXPECT_EQ(retries(kPuk), Buffer({3, 2}));
  EXPECT_EQ(pin_status(), Sw::authentication_blocked);
}

TEST_F(ResetRetryCounter, ThreeWrongPuks_BlockPuk) {
  EXPECT_EQ(unblock("00000000", "112233"), protocol::sw_retries_left(2));
  EXPECT_EQ(unblock("00000000", "112233"), protocol::sw_retries_left(1));
  EXPECT_EQ(unblock("00000000", "112233"), protocol::sw_retries_left(0));
  EXPECT_EQ(unblock(kDefaultPuk, "112233"), Sw::authentication_blocked);
  EXPECT_EQ(retries(kPuk), Buffer({3, 0}));
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok) << "the PIN itself is untouched";
}

TEST_F(ResetRetryCounter, CorrectPukRestoresPukCounter) {
  ASSERT_EQ(unblock("00000000", "112233"), protocol::sw_retries_left(2));
  ASSERT_EQ(unblock(kDefaultPuk, "112233"), Sw::ok);
  EXPECT_EQ(retries(kPuk), Buffer({3, 3}));
}

TEST_F(ResetRetryCounter, OnlyPinReference_Accepted) {
  EXPECT_EQ(send(Ins::reset_retry_counter, 0x00, kPuk,
                 concat({pin_block(kDefaultPuk), pin_block("112233")}))
                .sw,
            Sw::reference_not_found);
}

// ---- management key ----------------------------------------------------------------------

TEST_F(ManagementKeyAuth, MutualWithDefault3Des_Authenticates) {
  EXPECT_FALSE(management_authenticated());
  EXPECT_EQ(authenticate(), Sw::ok);
  EXPECT_TRUE(management_authenticated());
}

TEST_F(ManagementKeyAuth, ExternalWithDefault3Des_Authenticates) {
  const Buffer c = challenge();
  const Buffer cryptogram = block_encrypt(Algorithm::tdes, kDefaultManagementKey, c);
  EXPECT_EQ(answer(tlv(tag::kDynamicAuth, tlv(tag::kResponse, cryptogram))).sw, Sw::ok);
  EXPECT_TRUE(management_authenticated());
}

TEST_F(ManagementKeyAuth, WitnessReuse_SecondAnswerReturns6985) {
  const Buffer data = mutual_answer(witness());
  ASSERT_EQ(answer(data).sw, Sw::ok);
  EXPECT_EQ(answer(data).sw, Sw::conditions_not_satisfied);
}

TEST_F(ManagementKeyAuth, ChallengeReuse_SecondAnswerReturns6985) {
  const Buffer data =
      tlv(tag::kDynamicAuth,
          tlv(tag::kResponse, block_encrypt(Algorithm::tdes, kDefaultManagementKey, challenge())));
  ASSERT_EQ(answer(data).sw, Sw::ok);
  EXPECT_EQ(answer(data).sw, Sw::conditions_not_satisfied);
}

TEST_F(ManagementKeyAuth, WrongWitness_Returns63C9AndNotAuthenticated) {
  Buffer w = witness();
  w[0] ^= 0x01;
  EXPECT_EQ(answer(mutual_answer(w)).sw, protocol::sw_retries_left(9));
  EXPECT_FALSE(management_authenticated());
}

TEST_F(ManagementKeyAuth, WrongAnswerThenNewWitness_RestoresCounter) {
  Buffer w = witness();
  w[0] ^= 0x01;
  ASSERT_EQ(answer(mutual_answer(w)).sw, protocol::sw_retries_left(9));
  EXPECT_EQ(authenticate(), Sw::ok);
  w = witness();
  w[0] ^= 0x01;
  EXPECT_EQ(answer(mutual_answer(w)).sw, protocol::sw_retries_left(9));
}

TEST_F(ManagementKeyAuth, TenWrongAnswers_BlockManagementKey) {
  for (unsigned left = 9;; --left) {
    Buffer w = witness();
    w[0] ^= 0x01;
    ASSERT_EQ(answer(mutual_answer(w)).sw, protocol::sw_retries_left(left));
    if (left == 0) break;
  }
  EXPECT_EQ(answer(mutual_answer(witness())).sw, Sw::authentication_blocked);
  EXPECT_FALSE(management_authenticated());
}

TEST_F(ManagementKeyAuth, AnswerWithoutRequest_Returns6985) {
  EXPECT_EQ(answer(mutual_answer(random_bytes(8))).sw, Sw::conditions_not_satisfied);
}

TEST_F(ManagementKeyAuth, MutualAnswerToExternalChallenge_Returns6985) {
  const Buffer c = challenge();
  EXPECT_EQ(answer(mutual_answer(block_decrypt(Algorithm::tdes, kDefaultManagementKey, c))).sw,
            Sw::conditions_not_satisfied);
}

TEST_F(ManagementKeyAuth, AlgorithmOtherThanKeys_Returns6A86) {
  EXPECT_EQ(send(Ins::general_authenticate, u8(Algorithm::aes128), kManagement,
                 tlv(tag::kDynamicAuth, tlv(tag::kWitness, {})))
                .sw,
            Sw::incorrect_p1p2);
}

TEST_F(ManagementKeyAuth, MalformedTemplate_Returns6A80) {
  EXPECT_EQ(answer(tlv(tag::kDynamicAuth, tlv(0x99, {}))).sw, Sw::incorrect_data);
  EXPECT_EQ(answer(tlv(0x7D, tlv(tag::kWitness, {}))).sw, Sw::incorrect_data);
  EXPECT_EQ(
      answer(tlv(tag::kDynamicAuth, concat({tlv(tag::kWitness, {}), tlv(tag::kWitness, {})}))).sw,
      Sw::incorrect_data);
}

TEST_F(ManagementKeyAuth, PowerOff_DropsAuthentication) {
  ASSERT_EQ(authenticate(), Sw::ok);
  token().power_off();
  EXPECT_FALSE(management_authenticated());
}

TEST_F(ManagementKeyAuth, Metadata_DefaultTripleDes) {
  Response r = metadata(kManagement);
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(find_value(r.data, tag::kMetaAlgorithm), Buffer({u8(Algorithm::tdes)}));
  EXPECT_EQ(find_value(r.data, tag::kMetaIsDefault), Buffer({0x01}));
  EXPECT_EQ(find_value(r.data, tag::kMetaPolicy),
            Buffer({0x00, static_cast<std::uint8_t>(protocol::TouchPolicy::never)}));
}

TEST_F(SetManagementKey, WithoutAuthentication_Returns6982) {
  EXPECT_EQ(set_key(Algorithm::aes128, random_bytes(16)), Sw::security_status_not_satisfied);
}

TEST_F(SetManagementKey, MalformedKey_Returns6A80) {
  ASSERT_EQ(authenticate(), Sw::ok);
  EXPECT_EQ(set_key(Algorithm::aes128, random_bytes(15)), Sw::incorrect_data);
  EXPECT_EQ(set_key(Algorithm::ecc_p256, random_bytes(32)), Sw::incorrect_data);
  EXPECT_EQ(send(Ins::set_management_key, protocol::kSetManagementKeyP1, 0xFF,
                 concat({{u8(Algorithm::aes128), 0x9A, 16}, random_bytes(16)}))
                .sw,
            Sw::incorrect_data);
  EXPECT_EQ(send(Ins::set_management_key, 0x00, 0xFF,
                 concat({{u8(Algorithm::aes128), kManagement, 16}, random_bytes(16)}))
                .sw,
            Sw::incorrect_p1p2);
}

TEST_F(SetManagementKey, TouchRequired_ReportedInMetadata) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(set_key(Algorithm::aes128, random_bytes(16), 0xFE), Sw::ok);
  EXPECT_EQ(find_value(metadata(kManagement).data, tag::kMetaPolicy),
            Buffer({0x00, static_cast<std::uint8_t>(protocol::TouchPolicy::always)}));
}

TEST_F(SetManagementKey, NewTripleDesKey_NotDefaultAndPersists) {
  const Buffer key = random_bytes(24);
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(set_key(Algorithm::tdes, key), Sw::ok);
  EXPECT_EQ(find_value(metadata(kManagement).data, tag::kMetaIsDefault), Buffer({0x00}));
  reboot();
  EXPECT_EQ(authenticate(Algorithm::tdes, key), Sw::ok);
}

class SetManagementKeyAes : public SetManagementKey,
                            public ::testing::WithParamInterface<Algorithm> {};

TEST_P(SetManagementKeyAes, SetThenReauthenticateWithNewKey) {
  const Algorithm algorithm = GetParam();
  const std::size_t key_size = algorithm == Algorithm::aes128   ? 16
                               : algorithm == Algorithm::aes192 ? 24
                                                                : 32;
  const Buffer key = random_bytes(key_size);
  ASSERT_EQ(authenticate(), Sw::ok);
  const std::uint32_t before = change_counter();
  ASSERT_EQ(set_key(algorithm, key), Sw::ok);
  EXPECT_EQ(change_counter(), before + 1);

  Response meta = metadata(kManagement);
  EXPECT_EQ(find_value(meta.data, tag::kMetaAlgorithm), Buffer({u8(algorithm)}));
  EXPECT_EQ(find_value(meta.data, tag::kMetaIsDefault), Buffer({0x00}));

  token().power_off();
  EXPECT_EQ(send(Ins::general_authenticate, u8(Algorithm::tdes), kManagement,
                 tlv(tag::kDynamicAuth, tlv(tag::kWitness, {})))
                .sw,
            Sw::incorrect_p1p2)
      << "the old 3DES key is gone";
  EXPECT_EQ(authenticate(algorithm, key), Sw::ok);
  EXPECT_TRUE(management_authenticated());

  // And the external form with a 16-byte challenge.
  Response c = send(Ins::general_authenticate, u8(algorithm), kManagement,
                    tlv(tag::kDynamicAuth, tlv(tag::kChallenge, {})));
  ASSERT_EQ(c.sw, Sw::ok);
  auto inner = find_value(c.data, tag::kDynamicAuth);
  auto value = inner ? find_value(*inner, tag::kChallenge) : std::nullopt;
  ASSERT_TRUE(value && value->size() == 16);
  EXPECT_EQ(
      answer(tlv(tag::kDynamicAuth, tlv(tag::kResponse, block_encrypt(algorithm, key, *value))),
             algorithm)
          .sw,
      Sw::ok);
}

INSTANTIATE_TEST_SUITE_P(AllAesSizes, SetManagementKeyAes,
                         ::testing::Values(Algorithm::aes128, Algorithm::aes192, Algorithm::aes256),
                         [](const ::testing::TestParamInfo<Algorithm>& p) {
                           return p.param == Algorithm::aes128   ? std::string("Aes128")
                                  : p.param == Algorithm::aes192 ? std::string("Aes192")
                                                                 : std::string("Aes256");
                         });

}  // namespace
}  // namespace certkey::agent::test
