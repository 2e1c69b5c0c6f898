#include "piv_applet.hpp"

#include <certkey/protocol/aid.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/objects.hpp>
#include <certkey/protocol/tags.hpp>

#include "piv_defaults.hpp"

namespace certkey::agent::piv {

using protocol::CertkeyIns;
using protocol::Ins;
namespace tag = protocol::tag;

static_assert(sizeof(TokenConfig) == 22 && sizeof(SecretHash) == 33 &&
                  sizeof(ManagementKey) == 35 && sizeof(KeyHeader) == 4 &&
                  sizeof(ChangeCounter) == 4 && sizeof(UnlockKey) == 32,
              "storage images have no padding");

namespace {
constexpr std::uint8_t iso(Ins i) { return static_cast<std::uint8_t>(i); }
constexpr std::uint8_t ext(CertkeyIns i) { return static_cast<std::uint8_t>(i); }
constexpr std::uint8_t kIso = protocol::kClaIso;
constexpr std::uint8_t kExt = protocol::kClaCertkey;
}  // namespace

const PivApplet::Command PivApplet::kCommands[] = {
    {kIso, iso(Ins::verify), &PivApplet::verify},
    {kIso, iso(Ins::change_reference_data), &PivApplet::change_reference_data},
    {kIso, iso(Ins::reset_retry_counter), &PivApplet::reset_retry_counter},
    {kIso, iso(Ins::general_authenticate), &PivApplet::general_authenticate},
    {kIso, iso(Ins::generate_asymmetric_key_pair), &PivApplet::generate_key},
    {kIso, iso(Ins::get_data), &PivApplet::get_data},
    {kIso, iso(Ins::put_data), &PivApplet::put_data},
    {kIso, iso(Ins::move_key), &PivApplet::move_key},
    {kIso, iso(Ins::get_metadata), &PivApplet::get_metadata},
    {kIso, iso(Ins::get_serial), &PivApplet::get_serial},
    {kIso, iso(Ins::get_challenge), &PivApplet::get_challenge},
    {kIso, iso(Ins::attest), &PivApplet::attest},
    {kIso, iso(Ins::set_pin_retries), &PivApplet::set_pin_retries},
    {kIso, iso(Ins::reset), &PivApplet::reset},
    {kIso, iso(Ins::get_version), &PivApplet::get_version},
    {kIso, iso(Ins::import_key), &PivApplet::import_key},
    {kIso, iso(Ins::set_management_key), &PivApplet::set_management_key},
    {kExt, ext(CertkeyIns::token_info), &PivApplet::token_info},
    {kExt, ext(CertkeyIns::unlock_challenge), &PivApplet::unlock_challenge},
    {kExt, ext(CertkeyIns::unlock_response), &PivApplet::unlock_response},
    {kExt, ext(CertkeyIns::set_unlock_key), &PivApplet::set_unlock_key},
    {kExt, ext(CertkeyIns::list_keys), &PivApplet::list_keys},
    {kExt, ext(CertkeyIns::swap_slots), &PivApplet::swap_slots},
};

PivApplet::PivApplet(const hal::Board& board, RecordStore& store, const Identity& identity)
    : board_(board), store_(store), identity_(identity) {}

Bytes PivApplet::aid() const { return Bytes(protocol::kPivAid.data(), protocol::kPivAid.size()); }

Sw PivApplet::select(ResponseWriter& out) {
  // Application property template (SP 800-73-4 3.1.1). Re-selecting keeps the security state.
  static constexpr std::uint8_t kPix[] = {0x00, 0x00, 0x10, 0x00, 0x01, 0x00};
  static constexpr std::uint8_t kLabel[] = {'c', 'e', 'r', 't', 'k', 'e', 'y', ' ', 'P', 'I', 'V'};
  out.put_header(tag::kApplicationProperty, 2 + sizeof kPix + 2 + 7 + 2 + sizeof kLabel);
  out.put(tag::kApplicationId, Bytes(kPix, sizeof kPix));
  out.put_header(tag::kCoexistentTagAllocation, 7);
  out.put(tag::kApplicationId, Bytes(protocol::kPivAid.data(), protocol::kPivAidPrefixLength));
  out.put(tag::kApplicationLabel, Bytes(kLabel, sizeof kLabel));
  return Sw::ok;
}

void PivApplet::deselect() { clear_volatile(); }

void PivApplet::power_off() {
  clear_volatile();
  clear_pending_unlock();
}

void PivApplet::clear_pending_unlock() {
  secure_zero(MutableBytes(pending_unlock_.challenge, sizeof pending_unlock_.challenge));
  pending_unlock_.pending = false;
}

void PivApplet::clear_volatile() {
  secure_zero(MutableBytes(volatile_.management_expected, sizeof volatile_.management_expected));
  volatile_ = Volatile{};
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&key_work_), sizeof key_work_));
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&signer_work_), sizeof signer_work_));
}

Sw PivApplet::process(const CommandApdu& command, ResponseWriter& out) {
  for (const Command& entry : kCommands) {
    if (entry.cla == command.cla_class() && entry.ins == command.ins) {
      return (this->*entry.handler)(command, out);
    }
  }
  return Sw::ins_not_supported;
}

// ---- personalisation ---------------------------------------------------------------------

Sw PivApplet::install() {
  if (store_.contains(record::kTokenConfig)) return Sw::ok;
  TokenConfig config{};
  store_be32(config.serial, identity_.serial);
  config.medium = static_cast<std::uint8_t>(identity_.medium);
  config.policy = identity_.require_pin_change ? kPolicyRequirePinChange : 0;
  if (!board_.random.fill(MutableBytes(config.salt, sizeof config.salt))) return Sw::unknown;
  RecordStore::Transaction tx = store_.begin();
  stage_personalisation(tx, config);
  Sw sw = create_attestation_identity(tx, identity_.serial);
  if (sw != Sw::ok) return sw;
  tx.put(record::kTokenConfig,
         Bytes(reinterpret_cast<const std::uint8_t*>(&config), sizeof config));
  return commit(tx);
}

// PIN, PUK and management key to their documented defaults, a fresh CHUID. Used at
// personalisation and by RESET; keys other than the attestation key are removed by RESET.
void PivApplet::stage_personalisation(RecordStore::Transaction& tx, const TokenConfig& config) {
  stage_default_pins(tx, config, kDefaultPinRetries, kDefaultPukRetries);
  ManagementKey management{static_cast<std::uint8_t>(protocol::Algorithm::tdes),
                           static_cast<std::uint8_t>(protocol::TouchPolicy::never),
                           1,
                           {}};
  for (std::size_t i = 0; i < kDefaultManagementKey.size(); ++i) {
    management.key[i] = kDefaultManagementKey[i];
  }
  const RetryCounter management_counter{kManagementKeyRetries, kManagementKeyRetries};
  tx.put(record::kManagementCounter, Bytes(&management_counter.limit, sizeof management_counter));
  tx.put(record::kManagementKey,
         Bytes(reinterpret_cast<const std::uint8_t*>(&management), sizeof management));
  secure_zero(MutableBytes(management.key, sizeof management.key));

  // CHUID (SP 800-73-4 Appendix A): the "non-federal issuer" FASC-N, a random GUID, an
  // expiry date, and an empty issuer signature.
  std::uint8_t chuid[kChuidTemplateSize];
  for (std::size_t i = 0; i < sizeof chuid; ++i) chuid[i] = kChuidTemplate[i];
  board_.random.fill(MutableBytes(chuid + kChuidGuidOffset, 16));
  tx.put(record::object(protocol::object::kChuid), Bytes(chuid, sizeof chuid));
  stage_content_change(tx);
}

bool PivApplet::prepare_pin_replacement(const TokenConfig& config, Bytes pin_block,
                                        PinReplacement& out) const {
  RetryCounter current{};
  if (!read_counter(store_, record::kPinCounter, current)) return false;
  out.counter = RetryCounter{current.limit, current.limit};
  hash_pin_block(config, pin_block, out.value.hash);
  out.value.is_default =
      constant_time_equal(pin_block, Bytes(kDefaultPinBlock, protocol::kPinBlockLength));
  return true;
}

void PivApplet::stage_pin_replacement(RecordStore::Transaction& tx,
                                      const PinReplacement& replacement) {
  tx.put(record::kPinValue, Bytes(reinterpret_cast<const std::uint8_t*>(&replacement.value),
                                  sizeof replacement.value));
  tx.put(record::kPinCounter, Bytes(&replacement.counter.limit, sizeof replacement.counter));
  stage_content_change(tx);
}

// PIN and PUK back to their documented defaults, with the given retry limits.
void PivApplet::stage_default_pins(RecordStore::Transaction& tx, const TokenConfig& config,
                                   std::uint8_t pin_limit, std::uint8_t puk_limit) {
  SecretHash pin{1, {}}, puk{1, {}};
  hash_pin_block(config, Bytes(kDefaultPinBlock, 8), pin.hash);
  hash_pin_block(config, Bytes(kDefaultPukBlock, 8), puk.hash);
  const RetryCounter pin_counter{pin_limit, pin_limit}, puk_counter{puk_limit, puk_limit};
  tx.put(record::kPinCounter, Bytes(&pin_counter.limit, sizeof pin_counter));
  tx.put(record::kPinValue, Bytes(reinterpret_cast<const std::uint8_t*>(&pin), sizeof pin));
  tx.put(record::kPukCounter, Bytes(&puk_counter.limit, sizeof puk_counter));
  tx.put(record::kPukValue, Bytes(reinterpret_cast<const std::uint8_t*>(&puk), sizeof puk));
}

// ---- shared helpers ----------------------------------------------------------------------

bool PivApplet::read_record(std::uint16_t id, void* image, std::size_t size) const {
  std::size_t length = 0;
  return store_.read(id, MutableBytes(static_cast<std::uint8_t*>(image), size), length) ==
             StoreResult::ok &&
         length == size;
}

bool PivApplet::read_record_prefix(std::uint16_t id, void* image, std::size_t size) const {
  return store_.read_prefix(id, MutableBytes(static_cast<std::uint8_t*>(image), size)) ==
         StoreResult::ok;
}

bool PivApplet::load_config(TokenConfig& out) const {
  return read_record(record::kTokenConfig, &out, sizeof out);
}

std::uint32_t PivApplet::serial() const {
  TokenConfig config{};
  return load_config(config) ? load_be32(config.serial) : identity_.serial;
}

void PivApplet::stage_content_change(RecordStore::Transaction& tx) {
  ChangeCounter counter{};
  std::uint32_t value =
      read_record(record::kChangeCounter, &counter, sizeof counter) ? load_be32(counter.value) : 0;
  store_be32(counter.value, value + 1);
  tx.put(record::kChangeCounter, Bytes(counter.value, sizeof counter.value));
}

Sw PivApplet::commit(RecordStore::Transaction& tx) {
  switch (store_.commit(tx)) {
    case StoreResult::ok: return Sw::ok;
    case StoreResult::no_space:
    case StoreResult::too_large: return Sw::not_enough_memory;
    default: return Sw::memory_failure;
  }
}

void PivApplet::hash_pin_block(const TokenConfig& config, Bytes block, std::uint8_t out[32]) const {
  std::uint8_t input[sizeof config.salt + protocol::kPinBlockLength];
  for (std::size_t i = 0; i < sizeof config.salt; ++i) input[i] = config.salt[i];
  for (std::size_t i = 0; i < protocol::kPinBlockLength; ++i)
    input[sizeof config.salt + i] = block[i];
  board_.crypto.sha256(Bytes(input, sizeof input), MutableBytes(out, 32));
  secure_zero(MutableBytes(input, sizeof input));
}

Sw PivApplet::outcome_to_sw(CheckResult result) {
  switch (result.outcome) {
    case CheckOutcome::accepted: return Sw::ok;
    case CheckOutcome::rejected: return protocol::sw_retries_left(result.remaining);
    case CheckOutcome::blocked: return Sw::authentication_blocked;
    case CheckOutcome::storage_failed: break;
  }
  return Sw::memory_failure;
}

bool PivApplet::load_key(std::uint8_t slot, KeyRecord& out, std::size_t& length) const {
  return store_.read(record::key(slot),
                     MutableBytes(reinterpret_cast<std::uint8_t*>(&out), sizeof out),
                     length) == StoreResult::ok &&
         length >= sizeof(KeyHeader);
}

// The PIN policy of a key, then the token policy that defaults must be changed first.
Sw PivApplet::check_key_access(std::uint8_t slot, const KeyHeader& key) {
  TokenConfig config{};
  SecretHash pin{};
  if (!load_config(config) || !read_record(record::kPinValue, &pin, sizeof pin)) {
    return Sw::memory_failure;
  }
  if ((config.policy & kPolicyRequirePinChange) && pin.is_default) {
    return Sw::security_status_not_satisfied;
  }
  auto policy = static_cast<protocol::PinPolicy>(key.pin_policy);
  if (policy == protocol::PinPolicy::default_policy) policy = default_pin_policy(slot);
  switch (policy) {
    case protocol::PinPolicy::never: return Sw::ok;
    case protocol::PinPolicy::always:
      if (!volatile_.pin_verified || !volatile_.pin_fresh) return Sw::security_status_not_satisfied;
      volatile_.pin_fresh = false;
      return Sw::ok;
    default: return volatile_.pin_verified ? Sw::ok : Sw::security_status_not_satisfied;
  }
}

}  // namespace certkey::agent::piv
