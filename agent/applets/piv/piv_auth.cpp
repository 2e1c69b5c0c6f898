// VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER (SP 800-73-4 3.2.1-3.2.3) and the
// management key: challenge/response (3.2.4 with key reference 9B) and SET MANAGEMENT KEY.
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/tags.hpp>

#include "piv_applet.hpp"
#include "piv_defaults.hpp"

namespace certkey::agent::piv {
namespace tag = protocol::tag;
using protocol::kPinBlockLength;

namespace {

constexpr std::uint8_t kPinRef = static_cast<std::uint8_t>(protocol::KeyRef::pin);
constexpr std::uint8_t kPukRef = static_cast<std::uint8_t>(protocol::KeyRef::puk);

// 6 to 8 characters, then 0xFF padding to 8 bytes; nothing after the padding starts.
bool valid_pin_block(Bytes block) {
  if (block.size() != kPinBlockLength) return false;
  std::size_t length = 0;
  while (length < kPinBlockLength && block[length] != protocol::kPinPadByte) ++length;
  for (std::size_t i = length; i < kPinBlockLength; ++i) {
    if (block[i] != protocol::kPinPadByte) return false;
  }
  return length >= protocol::kMinPinLength;
}

bool cipher_for(std::uint8_t algorithm, hal::BlockCipher& out) {
  switch (static_cast<protocol::Algorithm>(algorithm)) {
    case protocol::Algorithm::tdes: out = hal::BlockCipher::tdes; return true;
    case protocol::Algorithm::aes128: out = hal::BlockCipher::aes128; return true;
    case protocol::Algorithm::aes192: out = hal::BlockCipher::aes192; return true;
    case protocol::Algorithm::aes256: out = hal::BlockCipher::aes256; return true;
    default: return false;
  }
}

}  // namespace

Sw PivApplet::verify(const CommandApdu& c, ResponseWriter&) {
  if (c.p1 == protocol::kVerifyP1Logout && c.p2 == kPinRef && c.data.empty()) {
    volatile_.pin_verified = volatile_.pin_fresh = false;
    return Sw::ok;
  }
  if (c.p1 != 0x00) return Sw::incorrect_p1p2;
  if (c.p2 != kPinRef) return Sw::reference_not_found;  // only the PIV Card Application PIN
  RetryCounter counter{};
  if (!read_counter(store_, record::kPinCounter, counter)) return Sw::memory_failure;
  if (c.data.empty()) {  // status query: no attempt is made
    if (volatile_.pin_verified) return Sw::ok;
    return counter.remaining == 0 ? Sw::authentication_blocked
                                  : protocol::sw_retries_left(counter.remaining);
  }
  if (!valid_pin_block(c.data)) return Sw::incorrect_data;
  volatile_.pin_verified = volatile_.pin_fresh = false;

  TokenConfig config{};
  SecretHash stored{};
  if (!load_config(config) || !read_record(record::kPinValue, &stored, sizeof stored)) {
    return Sw::memory_failure;
  }
  std::uint8_t candidate[32];
  hash_pin_block(config, c.data, candidate);
  CheckResult result = guarded_check(
      store_, record::kPinCounter,
      [&] { return constant_time_equal(Bytes(candidate, 32), Bytes(stored.hash, 32)); },
      [](RecordStore::Transaction&) {});
  secure_zero(MutableBytes(candidate, sizeof candidate));
  if (result.outcome == CheckOutcome::accepted) volatile_.pin_verified = volatile_.pin_fresh = true;
  return outcome_to_sw(result);
}

Sw PivApplet::change_reference_data(const CommandApdu& c, ResponseWriter&) {
  if (c.p1 != 0x00) return Sw::incorrect_p1p2;
  if (c.p2 != kPinRef && c.p2 != kPukRef) return Sw::reference_not_found;
  if (c.data.size() != 2 * kPinBlockLength) return Sw::incorrect_data;
  Bytes old_block = c.data.subspan(0, kPinBlockLength);
  Bytes new_block = c.data.subspan(kPinBlockLength);
  if (!valid_pin_block(old_block) || !valid_pin_block(new_block)) return Sw::incorrect_data;

  const bool is_pin = c.p2 == kPinRef;
  const std::uint16_t value_id = is_pin ? record::kPinValue : record::kPukValue;
  TokenConfig config{};
  SecretHash stored{};
  if (!load_config(config) || !read_record(value_id, &stored, sizeof stored)) {
    return Sw::memory_failure;
  }
  std::uint8_t candidate[32];
  hash_pin_block(config, old_block, candidate);
  SecretHash replacement{0, {}};
  hash_pin_block(config, new_block, replacement.hash);
  replacement.is_default = constant_time_equal(
      new_block, Bytes(is_pin ? kDefaultPinBlock : kDefaultPukBlock, kPinBlockLength));

  CheckResult result = guarded_check(
      store_, is_pin ? record::kPinCounter : record::kPukCounter,
      [&] { return constant_time_equal(Bytes(candidate, 32), Bytes(stored.hash, 32)); },
      [&](RecordStore::Transaction& tx) {
        tx.put(value_id,
               Bytes(reinterpret_cast<const std::uint8_t*>(&replacement), sizeof replacement));
        stage_content_change(tx);
      });
  secure_zero(MutableBytes(candidate, sizeof candidate));
  secure_zero(MutableBytes(replacement.hash, sizeof replacement.hash));
  return outcome_to_sw(result);
}

Sw PivApplet::reset_retry_counter(const CommandApdu& c, ResponseWriter&) {
  if (c.p1 != 0x00) return Sw::incorrect_p1p2;
  if (c.p2 != kPinRef) return Sw::reference_not_found;
  if (c.data.size() != 2 * kPinBlockLength) return Sw::incorrect_data;
  Bytes puk_block = c.data.subspan(0, kPinBlockLength);
  Bytes pin_block = c.data.subspan(kPinBlockLength);
  if (!valid_pin_block(puk_block) || !valid_pin_block(pin_block)) return Sw::incorrect_data;

  TokenConfig config{};
  SecretHash stored_puk{};
  PinReplacement replacement{};
  if (!load_config(config) || !read_record(record::kPukValue, &stored_puk, sizeof stored_puk) ||
      !prepare_pin_replacement(config, pin_block, replacement)) {
    return Sw::memory_failure;
  }
  std::uint8_t candidate[32];
  hash_pin_block(config, puk_block, candidate);
  CheckResult result = guarded_check(
      store_, record::kPukCounter,
      [&] { return constant_time_equal(Bytes(candidate, 32), Bytes(stored_puk.hash, 32)); },
      [&](RecordStore::Transaction& tx) { stage_pin_replacement(tx, replacement); });
  secure_zero(MutableBytes(candidate, sizeof candidate));
  return outcome_to_sw(result);
}

// Management key challenge/response. Two forms, both single-use:
//   mutual:   7C{80 00} -> 7C{80 E(W)};  7C{80 W, 81 C} -> 7C{82 E(C)}
//   external: 7C{81 00} -> 7C{81 C};     7C{82 E(C)}   -> 9000
Sw PivApplet::authenticate_management(const CommandApdu& c, const AuthTemplate& t,
                                      ResponseWriter& out) {
  ManagementKey key{};
  if (!read_record(record::kManagementKey, &key, sizeof key)) return Sw::memory_failure;
  hal::BlockCipher cipher{};
  if (c.p1 != key.algorithm || !cipher_for(key.algorithm, cipher)) return Sw::incorrect_p1p2;
  const std::size_t block = hal::block_size(cipher);
  Bytes key_bytes(key.key, hal::key_size(cipher));

  const bool witness_request = t.witness.present && t.witness.value.empty();
  const bool challenge_request =
      t.challenge.present && t.challenge.value.empty() && !t.witness.present;
  Bytes witness = t.witness.value, challenge = t.challenge.value, response = t.response.value;
  std::uint8_t buffer[16];
  Sw sw = Sw::ok;
  if (witness_request || challenge_request) {
    volatile_.management_authenticated = false;
    if (!board_.random.fill(MutableBytes(volatile_.management_expected, block))) return Sw::unknown;
    volatile_.management_expected_length = static_cast<std::uint8_t>(block);
    volatile_.management_witness_issued = witness_request;
    Bytes expected(volatile_.management_expected, block);
    if (witness_request &&
        !board_.crypto.block_encrypt(cipher, key_bytes, expected, MutableBytes(buffer, block))) {
      sw = Sw::unknown;
    } else {
      out.put_header(tag::kDynamicAuth, 2 + block);
      out.put(witness_request ? tag::kWitness : tag::kChallenge,
              witness_request ? Bytes(buffer, block) : expected);
    }
  } else {
    // The answer to an issued witness or challenge: one attempt, whatever its outcome.
    const bool mutual = witness.size() == block && challenge.size() == block && !t.response.present;
    const bool external = response.size() == block && !t.witness.present && !t.challenge.present;
    std::uint8_t expected[16];
    const std::size_t expected_length = volatile_.management_expected_length;
    const bool pending = expected_length == block &&
                         volatile_.management_witness_issued == mutual && (mutual || external);
    for (std::size_t i = 0; i < sizeof expected; ++i)
      expected[i] = volatile_.management_expected[i];
    secure_zero(MutableBytes(volatile_.management_expected, sizeof volatile_.management_expected));
    volatile_.management_expected_length = 0;
    if (!mutual && !external) {
      sw = Sw::incorrect_data;
    } else if (!pending) {
      sw = Sw::conditions_not_satisfied;
    } else {
      Bytes proof = mutual ? witness : response;
      if (external && !board_.crypto.block_encrypt(cipher, key_bytes, Bytes(expected, block),
                                                   MutableBytes(expected, block))) {
        sw = Sw::unknown;
      } else {
        CheckResult result = guarded_check(
            store_, record::kManagementCounter,
            [&] { return constant_time_equal(proof, Bytes(expected, block)); },
            [](RecordStore::Transaction&) {});
        sw = outcome_to_sw(result);
        volatile_.management_authenticated = result.outcome == CheckOutcome::accepted;
        if (sw == Sw::ok && mutual) {
          if (!board_.crypto.block_encrypt(cipher, key_bytes, challenge,
                                           MutableBytes(buffer, block))) {
            volatile_.management_authenticated = false;
            sw = Sw::unknown;
          } else {
            out.put_header(tag::kDynamicAuth, 2 + block);
            out.put(tag::kResponse, Bytes(buffer, block));
          }
        }
      }
    }
    secure_zero(MutableBytes(expected, sizeof expected));
  }
  secure_zero(MutableBytes(buffer, sizeof buffer));
  secure_zero(MutableBytes(key.key, sizeof key.key));
  return sw;
}

Sw PivApplet::set_management_key(const CommandApdu& c, ResponseWriter&) {
  if (c.p1 != protocol::kSetManagementKeyP1 || (c.p2 != 0xFF && c.p2 != 0xFE)) {
    return Sw::incorrect_p1p2;
  }
  if (!volatile_.management_authenticated) return Sw::security_status_not_satisfied;
  hal::BlockCipher cipher{};
  if (c.data.size() < 3 || !cipher_for(c.data[0], cipher) ||
      c.data[1] != static_cast<std::uint8_t>(protocol::KeyRef::management) ||
      c.data[2] != hal::key_size(cipher) || c.data.size() != 3 + hal::key_size(cipher)) {
    return Sw::incorrect_data;
  }
  ManagementKey key{c.data[0],
                    static_cast<std::uint8_t>(c.p2 == 0xFE ? protocol::TouchPolicy::always
                                                           : protocol::TouchPolicy::never),
                    0,
                    {}};
  Bytes new_key = c.data.subspan(3);
  for (std::size_t i = 0; i < new_key.size(); ++i) key.key[i] = new_key[i];
  key.is_default = cipher == hal::BlockCipher::tdes &&
                   constant_time_equal(
                       new_key, Bytes(kDefaultManagementKey.data(), kDefaultManagementKey.size()));
  RecordStore::Transaction tx = store_.begin();
  tx.put(record::kManagementKey, Bytes(reinterpret_cast<const std::uint8_t*>(&key), sizeof key));
  stage_content_change(tx);
  secure_zero(MutableBytes(key.key, sizeof key.key));
  return commit(tx);
}

}  // namespace certkey::agent::piv
