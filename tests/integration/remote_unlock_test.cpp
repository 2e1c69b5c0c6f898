// Remote unlock through pcscd and the simulator (docs/unlock.md), run inside
// tests/harness/with-tokens: issuance writes the derived unlock key, the holder reads the
// challenge out as a code, the help desk answers with a code, the token accepts a new PIN.
#include <certkey/card/error.hpp>
#include <certkey/card/token_client.hpp>
#include <certkey/card/unlock.hpp>
#include <gtest/gtest.h>

namespace certkey::card {
namespace {

const Bytes kDefaultManagementKey = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                     5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};
const Bytes kMasterKey(32, 0x5A);  // the CA's master key; an HSM holds it in production

class RemoteUnlock : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.select_piv();
    serial_ = client_.token_info().serial;
    client_.authenticate_management(kDefaultManagementKey, protocol::Algorithm::tdes);
    client_.set_unlock_key(unlock::derive_unlock_key(kMasterKey, serial_), 3);
    for (int i = 0; i < 3; ++i) client_.verify_pin("000000");  // the holder locks the PIN
    ASSERT_EQ(client_.verify_pin("").sw, 0x6983);
  }
  // The help desk's side: only the serial and the code the holder reads out.
  std::string help_desk_answer(const std::string& challenge_code) {
    unlock::Code challenge = unlock::decode(challenge_code);
    return unlock::encode(unlock::compute_response(unlock::derive_unlock_key(kMasterKey, serial_),
                                                   serial_, challenge));
  }
  Connection connection_{"token1"};
  TokenClient client_{connection_};
  std::uint32_t serial_ = 0;
};

TEST_F(RemoteUnlock, RoundTrip_SetsNewPinAndRestoresCounter) {
  std::string challenge = unlock::encode(client_.unlock_challenge());
  unlock::Code response = unlock::decode(help_desk_answer(challenge));
  EXPECT_TRUE(client_.unlock_with_response(response, "246810").ok());
  EXPECT_TRUE(client_.verify_pin("246810").ok());
  EXPECT_EQ(client_.token_info().unlock_retries, std::make_pair(3, 3));
}

TEST_F(RemoteUnlock, ReusedChallenge_IsRefused) {
  unlock::Code response =
      unlock::decode(help_desk_answer(unlock::encode(client_.unlock_challenge())));
  ASSERT_TRUE(client_.unlock_with_response(response, "246810").ok());
  EXPECT_EQ(client_.unlock_with_response(response, "135791").sw, 0x6985);
  EXPECT_TRUE(client_.verify_pin("246810").ok());
}

TEST_F(RemoteUnlock, WrongResponse_DecrementsUnlockCounterAndConsumesChallenge) {
  unlock::Code challenge = client_.unlock_challenge();
  unlock::Code wrong = unlock::decode(help_desk_answer(unlock::encode(challenge)));
  wrong[0] ^= 0x01;
  EXPECT_EQ(client_.unlock_with_response(wrong, "246810").sw, 0x63C2);
  EXPECT_EQ(client_.token_info().unlock_retries, std::make_pair(3, 2));
  // The right answer to the spent challenge no longer works: one attempt per challenge.
  wrong[0] ^= 0x01;
  EXPECT_EQ(client_.unlock_with_response(wrong, "246810").sw, 0x6985);
  EXPECT_EQ(client_.verify_pin("").sw, 0x6983);
}

TEST_F(RemoteUnlock, UnlockKeyBlocks_AfterItsRetryLimit) {
  for (int left = 2; left >= 0; --left) {
    unlock::Code wrong = client_.unlock_challenge();  // any 10 bytes are wrong here
    EXPECT_EQ(client_.unlock_with_response(wrong, "246810").sw, 0x63C0 | left);
  }
  EXPECT_THROW(client_.unlock_challenge(), Error);
  EXPECT_EQ(client_.token_info().unlock_retries, std::make_pair(3, 0));
}

}  // namespace
}  // namespace certkey::card
