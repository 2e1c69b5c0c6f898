// certkey's own extensions, CLA 80 (agent/applets/piv/certkey_extensions.cpp): TOKEN INFO
// with the change counter, and remote unlock (DESIGN.md section 7): a single-use challenge,
// a response = first 10 bytes of AES-256-CMAC(unlock key, "CKUR" || serial || challenge)
// computed here as the help desk would, and a new PIN.
#include <certkey/protocol/aid.hpp>
#include <certkey/protocol/objects.hpp>

#include "applets/piv/piv_applet.hpp"
#include "support/token_fixture.hpp"

namespace certkey::agent::test {
namespace {

constexpr std::uint8_t kUnlockRetries = 5;

class TokenInfo : public TokenFixture {};
class RemoteUnlock : public TokenFixture {
 protected:
  void SetUp() override {
    TokenFixture::SetUp();
    if (HasFatalFailure()) return;
    unlock_key_ = random_bytes(protocol::kUnlockKeyLength);
    ASSERT_EQ(authenticate(), Sw::ok);
    ASSERT_EQ(set_unlock_key(kUnlockRetries, unlock_key_), Sw::ok);
    token().power_off();  // the rest happens without the management key
  }
  Sw set_unlock_key(std::uint8_t retries, const Buffer& key) {
    return send(CertkeyIns::set_unlock_key, retries, 0x00, key).sw;
  }
  Buffer challenge() {
    Response r = send(CertkeyIns::unlock_challenge);
    EXPECT_EQ(r.sw, Sw::ok);
    EXPECT_EQ(r.data.size(), protocol::kUnlockChallengeLength);
    return r.data;
  }
  // What the help desk computes from the serial (GET SERIAL) and the challenge.
  Buffer response_for(const Buffer& challenge_bytes, const Buffer& key) {
    Response serial = send(Ins::get_serial, 0x00, 0x00);
    EXPECT_EQ(serial.sw, Sw::ok);
    Buffer mac = aes_cmac(key, concat({{'C', 'K', 'U', 'R'}, serial.data, challenge_bytes}));
    mac.resize(protocol::kUnlockResponseLength);
    return mac;
  }
  Buffer response_for(const Buffer& challenge_bytes) {
    return response_for(challenge_bytes, unlock_key_);
  }
  Sw unlock(const Buffer& response, const std::string& new_pin) {
    return send(CertkeyIns::unlock_response, 0x00, 0x00, concat({response, pin_block(new_pin)})).sw;
  }
  Buffer unlock_retries() {
    return find_value(token_info().data, tag::kInfoUnlockRetries).value_or(Buffer{});
  }
  void block_pin() {
    for (int i = 0; i < 3; ++i) verify_pin("000000");
    ASSERT_EQ(pin_status(), Sw::authentication_blocked);
  }
  Buffer unlock_key_;
};

// ---- TOKEN INFO --------------------------------------------------------------------------

TEST_F(TokenInfo, ReportsSerialMediumFirmwareCounterAndPolicy) {
  Response r = token_info();
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(find_value(r.data, tag::kInfoSerial), Buffer({0x01, 0xC0, 0xFF, 0xEE}));
  EXPECT_EQ(find_value(r.data, tag::kInfoMedium),
            Buffer({static_cast<std::uint8_t>(protocol::Medium::usb_key)}));
  EXPECT_EQ(find_value(r.data, tag::kInfoFirmware),
            Buffer(std::begin(piv::kFirmwareVersion), std::end(piv::kFirmwareVersion)));
  auto counter = find_value(r.data, tag::kInfoChangeCounter);
  ASSERT_TRUE(counter);
  EXPECT_EQ(counter->size(), 4u);
  EXPECT_GE(be32(*counter), 1u) << "personalisation is a change";
  EXPECT_EQ(find_value(r.data, tag::kInfoPolicy), Buffer({0x00}));
  EXPECT_FALSE(find_value(r.data, tag::kInfoUnlockRetries)) << "no unlock key yet";
  EXPECT_EQ(find_value(r.data, tag::kInfoPinState), Buffer({3, 3, 1})) << "limit, left, default";
  EXPECT_EQ(find_value(r.data, tag::kInfoPukState), Buffer({3, 3, 1}));
}

// PIN attempts do not advance the change counter, so TOKEN INFO reports them itself: a host
// sees a wrong PIN typed into another program in the same APDU it revalidates its cache with.
TEST_F(TokenInfo, PinState_FollowsWrongAndRightPinsAndChanges) {
  ASSERT_EQ(verify_pin("000000"), protocol::sw_retries_left(2));
  EXPECT_EQ(find_value(token_info().data, tag::kInfoPinState), Buffer({3, 2, 1}));
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(find_value(token_info().data, tag::kInfoPinState), Buffer({3, 3, 1}));
  ASSERT_EQ(send(Ins::change_reference_data, 0x00, 0x80,
                 concat({pin_block(kDefaultPin), pin_block("654321")}))
                .sw,
            Sw::ok);
  EXPECT_EQ(find_value(token_info().data, tag::kInfoPinState), Buffer({3, 3, 0}))
      << "no longer the default";
}

TEST_F(TokenInfo, SerialMatchesGetSerial) {
  EXPECT_EQ(find_value(token_info().data, tag::kInfoSerial), send(Ins::get_serial, 0, 0).data);
}

TEST_F(TokenInfo, ChangeCounter_IncreasesAfterPutDataNotAfterVerify) {
  const std::uint32_t start = change_counter();
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  ASSERT_EQ(verify_pin("000000"), protocol::sw_retries_left(2));
  EXPECT_EQ(change_counter(), start) << "VERIFY is not a content change";
  ASSERT_EQ(authenticate(), Sw::ok);
  EXPECT_EQ(change_counter(), start) << "nor is management-key authentication";
  ASSERT_EQ(put_object(protocol::object::kAuthenticationCert, {0x70, 0x00}).sw, Sw::ok);
  EXPECT_EQ(change_counter(), start + 1);
  ASSERT_EQ(put_object(protocol::object::kSignatureCert, {0x70, 0x00}).sw, Sw::ok);
  EXPECT_EQ(change_counter(), start + 2);
  reboot();
  EXPECT_EQ(change_counter(), start + 2) << "the counter is persistent";
}

TEST_F(TokenInfo, WrongP1P2_Returns6A86) {
  EXPECT_EQ(send(CertkeyIns::token_info, 0x01, 0x00).sw, Sw::incorrect_p1p2);
}

TEST_F(TokenInfo, IsoClassDoesNotReachExtensions) {
  EXPECT_EQ(send(protocol::kClaIso, u8(CertkeyIns::token_info), 0, 0).sw, Sw::ins_not_supported);
}

// ---- SET UNLOCK KEY ----------------------------------------------------------------------

TEST_F(TokenInfo, SetUnlockKey_NeedsManagementKey) {
  EXPECT_EQ(send(CertkeyIns::set_unlock_key, 5, 0, random_bytes(32)).sw,
            Sw::security_status_not_satisfied);
  EXPECT_EQ(send(CertkeyIns::unlock_challenge).sw, Sw::reference_not_found) << "no unlock key";
}

TEST_F(TokenInfo, SetUnlockKey_RetriesShownAndCounterIncreases) {
  ASSERT_EQ(authenticate(), Sw::ok);
  const std::uint32_t before = change_counter();
  ASSERT_EQ(send(CertkeyIns::set_unlock_key, 7, 0, random_bytes(32)).sw, Sw::ok);
  EXPECT_EQ(find_value(token_info().data, tag::kInfoUnlockRetries), Buffer({7, 7}));
  EXPECT_EQ(change_counter(), before + 1);
}

TEST_F(TokenInfo, SetUnlockKey_MalformedRejected) {
  ASSERT_EQ(authenticate(), Sw::ok);
  EXPECT_EQ(send(CertkeyIns::set_unlock_key, 5, 0, random_bytes(16)).sw, Sw::wrong_length);
  EXPECT_EQ(send(CertkeyIns::set_unlock_key, 0, 0, random_bytes(32)).sw, Sw::incorrect_p1p2);
  EXPECT_EQ(send(CertkeyIns::set_unlock_key, 16, 0, random_bytes(32)).sw, Sw::incorrect_p1p2);
  EXPECT_EQ(send(CertkeyIns::set_unlock_key, 5, 1, random_bytes(32)).sw, Sw::incorrect_p1p2);
}

// ---- remote unlock -----------------------------------------------------------------------

TEST_F(RemoteUnlock, Challenge_FreshTenBytesEachTime) {
  const Buffer a = challenge();
  const Buffer b = challenge();
  EXPECT_NE(a, b);
  EXPECT_EQ(send(CertkeyIns::unlock_challenge, 0x01, 0x00).sw, Sw::incorrect_p1p2);
}

TEST_F(RemoteUnlock, CorrectResponse_SetsNewPinAndUnblocksIt) {
  block_pin();
  const std::uint32_t before = change_counter();
  const Buffer c = challenge();
  ASSERT_EQ(unlock(response_for(c), "246813"), Sw::ok);
  EXPECT_EQ(change_counter(), before + 1);
  EXPECT_EQ(find_value(metadata(u8(KeyRef::pin)).data, tag::kMetaRetries), Buffer({3, 3}));
  EXPECT_EQ(verify_pin("246813"), Sw::ok);
  EXPECT_EQ(unlock_retries(), Buffer({kUnlockRetries, kUnlockRetries}));
}

TEST_F(RemoteUnlock, SecondResponseToSameChallenge_Returns6985) {
  const Buffer c = challenge();
  const Buffer response = response_for(c);
  ASSERT_EQ(unlock(response, "246813"), Sw::ok);
  EXPECT_EQ(unlock(response, "135792"), Sw::conditions_not_satisfied);
  EXPECT_EQ(verify_pin("246813"), Sw::ok) << "the replay did not set a PIN";
}

TEST_F(RemoteUnlock, WrongResponse_Returns63C4AndDecrementsUnlockCounter) {
  const Buffer c = challenge();
  Buffer response = response_for(c);
  response[0] ^= 0x01;
  EXPECT_EQ(unlock(response, "246813"), protocol::sw_retries_left(kUnlockRetries - 1));
  EXPECT_EQ(unlock_retries(), Buffer({kUnlockRetries, kUnlockRetries - 1}));
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok) << "the PIN is unchanged";
}

TEST_F(RemoteUnlock, WrongResponse_ConsumesChallenge) {
  const Buffer c = challenge();
  Buffer wrong = response_for(c);
  wrong[9] ^= 0x80;
  ASSERT_EQ(unlock(wrong, "246813"), protocol::sw_retries_left(kUnlockRetries - 1));
  EXPECT_EQ(unlock(response_for(c), "246813"), Sw::conditions_not_satisfied);
}

TEST_F(RemoteUnlock, ResponseWithWrongKey_Rejected) {
  const Buffer c = challenge();
  EXPECT_EQ(unlock(response_for(c, random_bytes(32)), "246813"),
            protocol::sw_retries_left(kUnlockRetries - 1));
}

TEST_F(RemoteUnlock, CorrectResponse_RestoresUnlockCounter) {
  Buffer wrong = response_for(challenge());
  wrong[0] ^= 0x01;
  ASSERT_EQ(unlock(wrong, "246813"), protocol::sw_retries_left(kUnlockRetries - 1));
  ASSERT_EQ(unlock(response_for(challenge()), "246813"), Sw::ok);
  EXPECT_EQ(unlock_retries(), Buffer({kUnlockRetries, kUnlockRetries}));
}

TEST_F(RemoteUnlock, FiveWrongResponses_BlockUnlock) {
  for (unsigned left = kUnlockRetries; left-- > 0;) {
    Buffer wrong = response_for(challenge());
    wrong[0] ^= 0x01;
    ASSERT_EQ(unlock(wrong, "246813"), protocol::sw_retries_left(left));
  }
  EXPECT_EQ(unlock_retries(), Buffer({kUnlockRetries, 0}));
  EXPECT_EQ(send(CertkeyIns::unlock_challenge).sw, Sw::authentication_blocked);
}

TEST_F(RemoteUnlock, NoChallenge_Returns6985) {
  EXPECT_EQ(unlock(random_bytes(10), "246813"), Sw::conditions_not_satisfied);
  EXPECT_EQ(unlock_retries(), Buffer({kUnlockRetries, kUnlockRetries}));
}

TEST_F(RemoteUnlock, NewChallengeReplacesOldOne) {
  const Buffer first = challenge();
  challenge();
  EXPECT_EQ(unlock(response_for(first), "246813"), protocol::sw_retries_left(kUnlockRetries - 1));
}

TEST_F(RemoteUnlock, PowerOff_DropsChallenge) {
  const Buffer c = challenge();
  token().power_off();
  EXPECT_EQ(unlock(response_for(c), "246813"), Sw::conditions_not_satisfied);
}

// The challenge is not bound to time: a help-desk call may take as long as it takes.
TEST_F(RemoteUnlock, ChallengeHoursOld_IsStillAccepted) {
  const Buffer c = challenge();
  clock_.now_ms += 6ull * 60 * 60 * 1000;
  EXPECT_EQ(unlock(response_for(c), "246813"), Sw::ok);
}

TEST_F(RemoteUnlock, ChallengeIsUsedOnce) {
  const Buffer c = challenge();
  ASSERT_EQ(unlock(response_for(c), "246813"), Sw::ok);
  EXPECT_EQ(unlock(response_for(c), "135792"), Sw::conditions_not_satisfied);
}

TEST_F(RemoteUnlock, MalformedRequest_RejectedWithoutConsumingChallenge) {
  const Buffer c = challenge();
  const Buffer response = response_for(c);
  EXPECT_EQ(send(CertkeyIns::unlock_response, 0, 0, response).sw, Sw::wrong_length);
  EXPECT_EQ(unlock(response, "12345"), Sw::incorrect_data);
  EXPECT_EQ(send(CertkeyIns::unlock_response, 0, 0,
                 concat({response, {'1', '2', '3', '4', '5', '6', 0xFF, '8'}}))
                .sw,
            Sw::incorrect_data);
  EXPECT_EQ(unlock(response, "246813"), Sw::ok);
}

TEST_F(RemoteUnlock, CounterWriteFails_FailsClosed) {
  const Buffer c = challenge();
  token().flash().fail_writes_from(1);
  EXPECT_EQ(unlock(response_for(c), "246813"), Sw::memory_failure);
  EXPECT_EQ(unlock_retries(), Buffer({kUnlockRetries, kUnlockRetries}));
  reboot();  // a working flash again
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok) << "no new PIN was set";
}

TEST_F(RemoteUnlock, UnlockKeySurvivesReboot) {
  reboot();
  EXPECT_EQ(unlock_retries(), Buffer({kUnlockRetries, kUnlockRetries}));
  EXPECT_EQ(unlock(response_for(challenge()), "246813"), Sw::ok);
}

// On a SIM the basic channel belongs to the USIM: the phone's modem, or an application on
// the desk, selects it while the holder is on the phone. That deselects PIV, and must not
// erase the challenge (DESIGN.md section 7).
class RemoteUnlockOnSim : public RemoteUnlock {
 protected:
  piv::Identity identity() const override {
    piv::Identity id = RemoteUnlock::identity();
    id.medium = protocol::Medium::sim;
    return id;
  }
  Sw select_usim() {
    const Buffer aid(protocol::kUsimAid.begin(), protocol::kUsimAid.end());
    return transmit(short_apdu(protocol::kClaIso, u8(Ins::select), 0x04, 0x00, aid, 0x00)).sw;
  }
};

TEST_F(RemoteUnlockOnSim, AnotherApplicationSelectedMeanwhile_ChallengeSurvives) {
  ASSERT_EQ(select().sw, Sw::ok);  // power-off left the USIM selected
  const Buffer c = challenge();
  const Buffer response = response_for(c);
  ASSERT_EQ(select_usim(), Sw::ok);  // PIV is deselected
  ASSERT_EQ(select().sw, Sw::ok);
  EXPECT_EQ(unlock(response, "246813"), Sw::ok);
}

TEST_F(RemoteUnlockOnSim, PowerOff_StillEndsTheChallenge) {
  ASSERT_EQ(select().sw, Sw::ok);
  const Buffer c = challenge();
  const Buffer response = response_for(c);
  token().power_off();
  ASSERT_EQ(select().sw, Sw::ok);
  EXPECT_EQ(unlock(response, "246813"), Sw::conditions_not_satisfied);
}

}  // namespace
}  // namespace certkey::agent::test
