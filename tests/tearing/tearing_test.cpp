// Tearing harness (DESIGN.md section 3): every scenario is run once to count its flash
// writes, then once per write and cut mode on a copy of the prepared flash, with power cut
// at that write (before it starts, or half-way through it). The token is then restarted and
// the scenario's invariants are checked. Each scenario prints how many cut points it tested.
#include <filesystem>
#include <functional>
#include <iostream>

#include <certkey/protocol/objects.hpp>

#include "support/token_fixture.hpp"

namespace certkey::agent::test {
namespace {

using host::CutMode;

class Tearing : public TokenFixture {
 protected:
  // Cuts power at every flash write `act` makes, restarting and calling `check` each time.
  void cut_everywhere(const char* scenario, const std::function<void()>& act,
                      const std::function<void()>& check) {
    const std::filesystem::path baseline = dir_ / "baseline.bin";
    token_.reset();
    std::filesystem::copy_file(flash_path(), baseline);
    reboot();
    const std::uint32_t before = token().flash().writes();
    act();
    const std::uint32_t writes = token().flash().writes() - before;
    ASSERT_GT(writes, 0u) << scenario << " wrote nothing";
    int cut_points = 0;
    for (std::uint32_t k = 1; k <= writes; ++k) {
      for (CutMode mode : {CutMode::before_write, CutMode::torn_write}) {
        token_.reset();
        std::filesystem::copy_file(baseline, flash_path(),
                                   std::filesystem::copy_options::overwrite_existing);
        reboot();
        token().flash().cut_power_at(k, mode);
        act();
        ASSERT_TRUE(token().flash().power_lost()) << scenario << ": no cut at write " << k;
        reboot();  // asserts that the store mounts
        SCOPED_TRACE(std::string(scenario) + ": power cut at write " + std::to_string(k) +
                     (mode == CutMode::torn_write ? " (torn)" : " (before)"));
        check();
        ++cut_points;
        if (HasFatalFailure()) return;
      }
    }
    std::cout << "[tearing] " << scenario << ": " << cut_points << " cut points (" << writes
              << " flash writes x 2 cut modes), every invariant held\n";
    RecordProperty("cut_points", cut_points);
  }

  int retries_left(std::uint8_t reference) {
    Response r = metadata(reference);
    auto retries = find_value(r.data, tag::kMetaRetries);
    return retries && retries->size() == 2 ? (*retries)[1] : -1;
  }
  int unlock_retries_left() {
    auto v = find_value(token_info().data, tag::kInfoUnlockRetries);
    return v && v->size() == 2 ? (*v)[1] : -1;
  }
  Sw change_pin(const std::string& from, const std::string& to) {
    return send(Ins::change_reference_data, 0, u8(KeyRef::pin),
                concat({pin_block(from), pin_block(to)}))
        .sw;
  }
  Buffer public_key_of(std::uint8_t slot) {
    Response r = metadata(slot);
    auto key = find_value(r.data, tag::kMetaPublicKey);
    return r.sw == Sw::ok && key ? *key : Buffer{};
  }
  // The slot's private key signs, and the signature verifies with the public key it reports.
  void expect_consistent_p256(std::uint8_t slot, const Buffer& public_template) {
    ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
    const Buffer digest = sha256({1, 2, 3});
    Response signature = sign(slot, Algorithm::ecc_p256, digest);
    ASSERT_EQ(signature.sw, Sw::ok);
    Pkey key = public_key(Algorithm::ecc_p256, public_template);
    ASSERT_TRUE(key);
    EXPECT_TRUE(ecdsa_verify(key.get(), digest, signature.data));
  }
  static constexpr std::uint8_t kPin = u8(KeyRef::pin);
  static constexpr std::uint8_t kPuk = u8(KeyRef::puk);
  static constexpr std::uint8_t k9a = u8(KeyRef::authentication);
};

TEST_F(Tearing, WrongPin_CounterNeverGoesBackUp) {
  cut_everywhere(
      "wrong PIN", [&] { verify_pin("111111"); },
      [&] {
        int left = retries_left(kPin);
        EXPECT_TRUE(left == 3 || left == 2) << left;
        EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
      });
}

TEST_F(Tearing, RightPin_CounterIsDecrementedOrRestored) {
  cut_everywhere(
      "right PIN", [&] { verify_pin(kDefaultPin); },
      [&] {
        int left = retries_left(kPin);
        EXPECT_TRUE(left == 3 || left == 2) << left;
        EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
      });
}

TEST_F(Tearing, PinChange_PinIsOldOrNew) {
  cut_everywhere(
      "PIN change", [&] { change_pin(kDefaultPin, "654321"); },
      [&] {
        if (verify_pin(kDefaultPin) == Sw::ok) {
          EXPECT_NE(verify_pin("654321"), Sw::ok);
        } else {
          EXPECT_EQ(verify_pin("654321"), Sw::ok);
        }
      });
}

TEST_F(Tearing, PukUnblock_PinStaysBlockedOrIsReplaced) {
  for (int i = 0; i < 3; ++i) verify_pin("111111");
  ASSERT_EQ(pin_status(), Sw::authentication_blocked);
  const Buffer data = concat({pin_block(kDefaultPuk), pin_block("246810")});
  cut_everywhere(
      "PUK unblock", [&] { send(Ins::reset_retry_counter, 0, kPin, data); },
      [&] {
        int puk_left = retries_left(kPuk);
        if (pin_status() == Sw::authentication_blocked) {
          EXPECT_TRUE(puk_left == 3 || puk_left == 2) << puk_left;
        } else {
          EXPECT_EQ(puk_left, 3);
          EXPECT_EQ(verify_pin("246810"), Sw::ok);
        }
      });
}

TEST_F(Tearing, ManagementKeyChange_OldOrNewKeyWorks) {
  const Buffer new_key(16, 0x42);
  const Buffer data = concat({{u8(Algorithm::aes128), u8(KeyRef::management), 16}, new_key});
  cut_everywhere(
      "management key change",
      [&] {
        if (authenticate() == Sw::ok) send(Ins::set_management_key, 0xFF, 0xFF, data);
      },
      [&] {
        bool old_works = authenticate() == Sw::ok;
        bool new_works = authenticate(Algorithm::aes128, new_key) == Sw::ok;
        EXPECT_NE(old_works, new_works);
      });
}

TEST_F(Tearing, KeyGeneration_SlotHoldsAWholeKeyPair) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9a, Algorithm::ecc_p256).sw, Sw::ok);
  cut_everywhere(
      "key generation",
      [&] {
        if (authenticate() == Sw::ok) generate(k9a, Algorithm::ecc_p256);
      },
      [&] { expect_consistent_p256(k9a, public_key_of(k9a)); });
}

TEST_F(Tearing, CertificateWrite_ObjectIsOldOrNew) {
  const Buffer old_object = random_bytes(3000), new_object = random_bytes(3900);
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(put_object(protocol::object::kAuthenticationCert, old_object).sw, Sw::ok);
  cut_everywhere(
      "certificate write",
      [&] {
        if (authenticate() == Sw::ok) put_object(protocol::object::kAuthenticationCert, new_object);
      },
      [&] {
        Response r = get_object(protocol::object::kAuthenticationCert);
        ASSERT_EQ(r.sw, Sw::ok);
        EXPECT_TRUE(r.data == old_object || r.data == new_object);
      });
}

TEST_F(Tearing, RemoteUnlock_PinStaysBlockedOrIsReplaced) {
  const Buffer unlock_key(32, 0x17);
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(send(CertkeyIns::set_unlock_key, 3, 0, unlock_key).sw, Sw::ok);
  for (int i = 0; i < 3; ++i) verify_pin("111111");
  ASSERT_EQ(pin_status(), Sw::authentication_blocked);
  cut_everywhere(
      "remote unlock",
      [&] {
        Response challenge = send(CertkeyIns::unlock_challenge);
        const Buffer serial = {
            static_cast<std::uint8_t>(kSerial >> 24), static_cast<std::uint8_t>(kSerial >> 16),
            static_cast<std::uint8_t>(kSerial >> 8), static_cast<std::uint8_t>(kSerial)};
        Buffer message = concat({{'C', 'K', 'U', 'R'}, serial, challenge.data});
        Buffer mac = aes_cmac(unlock_key, message);
        mac.resize(protocol::kUnlockResponseLength);
        send(CertkeyIns::unlock_response, 0, 0, concat({mac, pin_block("246810")}));
      },
      [&] {
        int left = unlock_retries_left();
        if (pin_status() == Sw::authentication_blocked) {
          EXPECT_TRUE(left == 3 || left == 2) << left;
        } else {
          EXPECT_EQ(left, 3);
          EXPECT_EQ(verify_pin("246810"), Sw::ok);
        }
      });
}

TEST_F(Tearing, MoveKey_KeyIsInExactlyOneSlot) {
  constexpr std::uint8_t kRetired = 0x82;
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9a, Algorithm::ecc_p256).sw, Sw::ok);
  const Buffer original = public_key_of(k9a);
  cut_everywhere(
      "move key",
      [&] {
        if (authenticate() == Sw::ok) send(Ins::move_key, kRetired, k9a);
      },
      [&] {
        Buffer in_9a = public_key_of(k9a), in_82 = public_key_of(kRetired);
        EXPECT_NE(in_9a.empty(), in_82.empty()) << "the key must be in exactly one slot";
        EXPECT_EQ(in_9a.empty() ? in_82 : in_9a, original);
        expect_consistent_p256(in_9a.empty() ? kRetired : k9a, original);
      });
}

TEST_F(Tearing, SwapSlots_SlotsHoldTheOldOrTheSwappedPairsNeverAMix) {
  // Keys and certificates in 9A and 82; SWAP SLOTS exchanges both pairs in one commit. A
  // VERIFY after it adds writes, so that some cut points fall after the swap's commit and
  // the swapped arrangement is checked too, not only the old one.
  constexpr std::uint8_t kRetired = 0x82;
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9a, Algorithm::ecc_p256).sw, Sw::ok);
  ASSERT_EQ(generate(kRetired, Algorithm::ecc_p256).sw, Sw::ok);
  const Buffer key_9a = public_key_of(k9a), key_82 = public_key_of(kRetired);
  const Buffer certificate_9a = random_bytes(2500), certificate_82 = random_bytes(3000);
  ASSERT_EQ(put_object(protocol::object::kAuthenticationCert, certificate_9a).sw, Sw::ok);
  ASSERT_EQ(put_object(protocol::object::kRetiredCertFirst, certificate_82).sw, Sw::ok);
  const std::uint32_t counter = change_counter();
  int old_seen = 0, swapped_seen = 0;
  cut_everywhere(
      "swap slots",
      [&] {
        if (authenticate() == Sw::ok) send(CertkeyIns::swap_slots, k9a, kRetired);
        verify_pin(kDefaultPin);
      },
      [&] {
        const Buffer in_9a = public_key_of(k9a), in_82 = public_key_of(kRetired);
        const Buffer certificate_in_9a = get_object(protocol::object::kAuthenticationCert).data;
        const Buffer certificate_in_82 = get_object(protocol::object::kRetiredCertFirst).data;
        const std::uint32_t now = change_counter();
        if (in_9a == key_9a) {  // the old arrangement, all of it
          ++old_seen;
          EXPECT_EQ(in_82, key_82);
          EXPECT_EQ(certificate_in_9a, certificate_9a);
          EXPECT_EQ(certificate_in_82, certificate_82);
          EXPECT_EQ(now, counter);
        } else {  // the swapped one, all of it
          ++swapped_seen;
          EXPECT_EQ(in_9a, key_82);
          EXPECT_EQ(in_82, key_9a);
          EXPECT_EQ(certificate_in_9a, certificate_82);
          EXPECT_EQ(certificate_in_82, certificate_9a);
          EXPECT_EQ(now, counter + 1);
        }
        // Each slot's key is whole: it signs, and the signature verifies with its public key.
        expect_consistent_p256(k9a, in_9a);
        expect_consistent_p256(kRetired, in_82);
      });
  EXPECT_GT(old_seen, 0);
  EXPECT_GT(swapped_seen, 0);
  std::cout << "[tearing] swap slots: old arrangement after " << old_seen << " cuts, swapped after "
            << swapped_seen << "\n";
}

TEST_F(Tearing, Compaction_LiveRecordsSurviveBankSwitch) {
  // Overwrite one object until the log is nearly full, so the next write compacts.
  ASSERT_EQ(authenticate(), Sw::ok);
  const Buffer kept = random_bytes(2000);
  ASSERT_EQ(put_object(protocol::object::kAuthenticationCert, kept).sw, Sw::ok);
  Buffer churn;
  while (token().store().free_bytes() > 5200) {
    churn = random_bytes(4000);
    ASSERT_EQ(put_object(protocol::object::kSignatureCert, churn).sw, Sw::ok);
  }
  // Leave about 1 KiB: the authentication's small commits fit, the new object does not.
  churn = random_bytes(token().store().free_bytes() - 1100);
  ASSERT_EQ(put_object(protocol::object::kSignatureCert, churn).sw, Sw::ok);
  const std::size_t bank_before = token().store().free_bytes();
  ASSERT_LT(bank_before, 1200u);
  const Buffer added = random_bytes(3000);
  cut_everywhere(
      "compaction",
      [&] {
        if (authenticate() == Sw::ok) put_object(protocol::object::kKeyManagementCert, added);
      },
      [&] {
        EXPECT_EQ(get_object(protocol::object::kAuthenticationCert).data, kept);
        EXPECT_EQ(get_object(protocol::object::kSignatureCert).data, churn);
        Response r = get_object(protocol::object::kKeyManagementCert);
        EXPECT_TRUE(r.sw == Sw::not_found || r.data == added);
        EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
      });
  EXPECT_GT(token().store().free_bytes(), bank_before) << "the scenario must switch banks";
}

}  // namespace
}  // namespace certkey::agent::test
