// certkey's own extensions (CLA 80, docs/protocol.md): TOKEN INFO and remote unlock
// (docs/unlock.md).
#include <certkey/protocol/piv_payloads.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/objects.hpp>
#include <certkey/protocol/tags.hpp>

#include "piv_applet.hpp"
#include "piv_defaults.hpp"

namespace certkey::agent::piv {
namespace tag = protocol::tag;

namespace {
// Domain separation of the unlock response MAC: "CKUR" || serial || challenge.
constexpr std::uint8_t kUnlockResponseLabel[4] = {'C', 'K', 'U', 'R'};
}  // namespace

Sw PivApplet::token_info(const CommandApdu& c, ResponseWriter& out) {
  if (c.p1 != 0 || c.p2 != 0) return Sw::incorrect_p1p2;
  TokenConfig config{};
  ChangeCounter counter{};
  if (!load_config(config) || !read_record(record::kChangeCounter, &counter, sizeof counter)) {
    return Sw::memory_failure;
  }
  out.put(tag::kInfoSerial, Bytes(config.serial, sizeof config.serial));
  out.put_u8(tag::kInfoMedium, config.medium);
  out.put(tag::kInfoFirmware, Bytes(kFirmwareVersion, sizeof kFirmwareVersion));
  out.put(tag::kInfoChangeCounter, Bytes(counter.value, sizeof counter.value));
  out.put_u8(tag::kInfoPolicy, config.policy);
  if (!put_credential_state(tag::kInfoPinState, record::kPinCounter, record::kPinValue, out) ||
      !put_credential_state(tag::kInfoPukState, record::kPukCounter, record::kPukValue, out)) {
    return Sw::memory_failure;
  }
  RetryCounter unlock{};
  if (read_counter(store_, record::kUnlockCounter, unlock)) {
    const std::uint8_t retries[2] = {unlock.limit, unlock.remaining};
    out.put(tag::kInfoUnlockRetries, Bytes(retries, 2));
  }
  return Sw::ok;
}

// Limit, tries left, is-default: what GET METADATA reports for the PIN or PUK.
bool PivApplet::put_credential_state(std::uint16_t info_tag, std::uint16_t counter_record,
                                     std::uint16_t value_record, ResponseWriter& out) const {
  RetryCounter counter{};
  SecretHash value{};
  if (!read_counter(store_, counter_record, counter) ||
      !read_record(value_record, &value, sizeof value)) {
    return false;
  }
  const std::uint8_t state[3] = {counter.limit, counter.remaining, value.is_default};
  out.put(info_tag, Bytes(state, sizeof state));
  return true;
}

Sw PivApplet::unlock_challenge(const CommandApdu& c, ResponseWriter& out) {
  if (c.p1 != 0 || c.p2 != 0) return Sw::incorrect_p1p2;
  RetryCounter counter{};
  if (!store_.contains(record::kUnlockKey) ||
      !read_counter(store_, record::kUnlockCounter, counter)) {
    return Sw::reference_not_found;
  }
  if (counter.remaining == 0) return Sw::authentication_blocked;
  clear_pending_unlock();  // a new challenge replaces the old one, which is then gone
  if (!board_.random.fill(
          MutableBytes(pending_unlock_.challenge, sizeof pending_unlock_.challenge))) {
    return Sw::unknown;
  }
  pending_unlock_.pending = true;
  out.put_raw(Bytes(pending_unlock_.challenge, sizeof pending_unlock_.challenge));
  return Sw::ok;
}

// Data: response (10 bytes) || new PIN block (8 bytes). The challenge is consumed by this
// attempt whatever its outcome, so each challenge gets exactly one try.
Sw PivApplet::unlock_response(const CommandApdu& c, ResponseWriter&) {
  if (c.p1 != 0 || c.p2 != 0) return Sw::incorrect_p1p2;
  constexpr std::size_t kLength = protocol::kUnlockResponseLength + protocol::kPinBlockLength;
  if (c.data.size() != kLength) return Sw::wrong_length;
  Bytes response = c.data.subspan(0, protocol::kUnlockResponseLength);
  Bytes pin_block = c.data.subspan(protocol::kUnlockResponseLength);
  std::size_t pin_length = 0;
  while (pin_length < 8 && pin_block[pin_length] != protocol::kPinPadByte) ++pin_length;
  for (std::size_t i = pin_length; i < 8; ++i) {
    if (pin_block[i] != protocol::kPinPadByte) return Sw::incorrect_data;
  }
  if (pin_length < protocol::kMinPinLength) return Sw::incorrect_data;

  if (!pending_unlock_.pending) return Sw::conditions_not_satisfied;
  std::uint8_t message[sizeof kUnlockResponseLabel + 4 + protocol::kUnlockChallengeLength];
  for (std::size_t i = 0; i < sizeof kUnlockResponseLabel; ++i)
    message[i] = kUnlockResponseLabel[i];
  store_be32(message + 4, serial());
  for (std::size_t i = 0; i < protocol::kUnlockChallengeLength; ++i) {
    message[8 + i] = pending_unlock_.challenge[i];
  }
  clear_pending_unlock();  // one try per challenge, whatever follows

  UnlockKey key{};
  TokenConfig config{};
  PinReplacement replacement{};
  if (!store_.contains(record::kUnlockKey)) return Sw::reference_not_found;
  if (!read_record(record::kUnlockKey, &key, sizeof key) || !load_config(config) ||
      !prepare_pin_replacement(config, pin_block, replacement)) {
    return Sw::memory_failure;
  }
  std::uint8_t expected[16];
  bool mac_ok =
      board_.crypto.aes_cmac(Bytes(key.key, sizeof key.key), Bytes(message, sizeof message),
                             MutableBytes(expected, sizeof expected));
  secure_zero(MutableBytes(key.key, sizeof key.key));
  if (!mac_ok) return Sw::unknown;
  CheckResult result = guarded_check(
      store_, record::kUnlockCounter,
      [&] {
        return constant_time_equal(response, Bytes(expected, protocol::kUnlockResponseLength));
      },
      [&](RecordStore::Transaction& tx) { stage_pin_replacement(tx, replacement); });
  secure_zero(MutableBytes(expected, sizeof expected));
  return outcome_to_sw(result);
}

// One entry per slot with a key or a certificate, so that a host lists a token in one APDU
// (docs/protocol.md). Public keys are not included: hosts take them from the certificate,
// or ask GET METADATA for a key without one.
Sw PivApplet::list_keys(const CommandApdu& c, ResponseWriter& out) {
  if (c.p1 != 0 || c.p2 != 0) return Sw::incorrect_p1p2;
  for (unsigned slot = 0x82; slot <= 0xF9; ++slot) {
    const auto s = static_cast<std::uint8_t>(slot);
    if (!protocol::is_asymmetric_slot(s)) continue;
    const std::uint32_t cert_object = protocol::certificate_object_for_slot(s);
    const std::size_t cert_length = cert_object ? store_.length(record::object(cert_object)) : 0;
    KeyHeader header{};
    const bool has_key = read_record_prefix(record::key(s), &header, sizeof header);
    if (!has_key && cert_length == 0) continue;
    protocol::KeyListEntry listed;
    listed.slot = s;
    listed.algorithm = header.algorithm;
    listed.pin_policy = !has_key            ? 0
                        : header.pin_policy ? header.pin_policy
                                            : static_cast<std::uint8_t>(default_pin_policy(s));
    listed.touch_policy = has_key && !header.touch_policy ? 1 : header.touch_policy;
    listed.origin = header.origin;
    listed.certificate_length = static_cast<std::uint16_t>(cert_length);
    std::uint8_t entry[protocol::kListKeysEntrySize];
    protocol::write_key_list_entry(listed, MutableBytes(entry, sizeof entry));
    out.put_raw(Bytes(entry, sizeof entry));
  }
  return Sw::ok;
}

// Issuance: P1 = retry limit (1-15), data = the 32-byte unlock key derived by the CA.
Sw PivApplet::set_unlock_key(const CommandApdu& c, ResponseWriter&) {
  if (c.p1 == 0 || c.p1 > 15 || c.p2 != 0) return Sw::incorrect_p1p2;
  if (!volatile_.management_authenticated) return Sw::security_status_not_satisfied;
  if (c.data.size() != protocol::kUnlockKeyLength) return Sw::wrong_length;
  const RetryCounter counter{c.p1, c.p1};
  RecordStore::Transaction tx = store_.begin();
  tx.put(record::kUnlockKey, c.data);
  tx.put(record::kUnlockCounter, Bytes(&counter.limit, sizeof counter));
  stage_content_change(tx);
  return commit(tx);
}

}  // namespace certkey::agent::piv
