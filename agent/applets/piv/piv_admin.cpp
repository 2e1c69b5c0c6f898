// Yubico-compatible administration: GET VERSION, GET SERIAL, RESET, SET PIN RETRIES.
#include <certkey/protocol/limits.hpp>
#include <certkey/protocol/objects.hpp>

#include "piv_applet.hpp"

namespace certkey::agent::piv {

Sw PivApplet::get_version(const CommandApdu& c, ResponseWriter& out) {
  if (c.p1 != 0 || c.p2 != 0) return Sw::incorrect_p1p2;
  out.put_raw(Bytes(kCompatibilityVersion, sizeof kCompatibilityVersion));
  return Sw::ok;
}

Sw PivApplet::get_serial(const CommandApdu& c, ResponseWriter& out) {
  if (c.p1 != 0 || c.p2 != 0) return Sw::incorrect_p1p2;
  std::uint8_t be[4];
  store_be32(be, serial());
  out.put_raw(Bytes(be, sizeof be));
  return Sw::ok;
}

// GET CHALLENGE (ISO 7816-4 11.5.3): Ne bytes, up to kMaxChallenge, from the board's RNG.
// Needs no PIN: a host's C_GenerateRandom draws on it (docs/protocol.md).
Sw PivApplet::get_challenge(const CommandApdu& c, ResponseWriter& out) {
  if (c.p1 != 0 || c.p2 != 0) return Sw::incorrect_p1p2;
  if (!c.data.empty() || c.ne == 0) return Sw::wrong_length;
  std::size_t left = c.ne < protocol::kMaxChallenge ? c.ne : protocol::kMaxChallenge;
  std::uint8_t chunk[32];
  while (left > 0) {
    const std::size_t n = left < sizeof chunk ? left : sizeof chunk;
    if (!board_.random.fill(MutableBytes(chunk, n))) return Sw::unknown;
    out.put_raw(Bytes(chunk, n));
    left -= n;
  }
  secure_zero(MutableBytes(chunk, sizeof chunk));
  return out.overflowed() ? Sw::unknown : Sw::ok;
}

// Allowed only when both PIN and PUK are blocked: the holder has no other way back. Removes
// every key and object except the attestation identity, and restores the defaults, in one
// commit.
Sw PivApplet::reset(const CommandApdu& c, ResponseWriter&) {
  if (c.p1 != 0 || c.p2 != 0) return Sw::incorrect_p1p2;
  RetryCounter pin{}, puk{};
  TokenConfig config{};
  if (!read_counter(store_, record::kPinCounter, pin) ||
      !read_counter(store_, record::kPukCounter, puk) || !load_config(config)) {
    return Sw::memory_failure;
  }
  if (pin.remaining != 0 || puk.remaining != 0) return Sw::conditions_not_satisfied;
  RecordStore::Transaction tx = store_.begin();
  auto remove_if_present = [&](std::uint16_t id) {
    if (id != 0 && store_.contains(id)) tx.remove(id);
  };
  for (unsigned slot = 0x82; slot <= 0x9E; ++slot) {
    if (protocol::is_asymmetric_slot(static_cast<std::uint8_t>(slot))) {
      remove_if_present(record::key(static_cast<std::uint8_t>(slot)));
    }
  }
  remove_if_present(record::object(protocol::object::kBiometricGroupTemplate));
  for (std::uint32_t id = protocol::object::kCardAuthCert; id <= protocol::object::kPivObjectLast;
       ++id) {
    remove_if_present(record::object(id));
  }
  for (std::uint32_t id = protocol::object::kYubicoAdminData;
       id <= protocol::object::kYubicoObjectLast; ++id) {
    if (id != protocol::object::kAttestationCert) remove_if_present(record::object(id));
  }
  stage_personalisation(tx, config);
  clear_volatile();
  return commit(tx);
}

// P1 = PIN tries, P2 = PUK tries (1-15). Needs the management key and the PIN; sets PIN and
// PUK back to their defaults, as yubico-piv-tool documents, and touches nothing else.
Sw PivApplet::set_pin_retries(const CommandApdu& c, ResponseWriter&) {
  if (c.p1 == 0 || c.p1 > 15 || c.p2 == 0 || c.p2 > 15) return Sw::incorrect_p1p2;
  if (!volatile_.management_authenticated || !volatile_.pin_verified) {
    return Sw::security_status_not_satisfied;
  }
  TokenConfig config{};
  if (!load_config(config)) return Sw::memory_failure;
  RecordStore::Transaction tx = store_.begin();
  stage_default_pins(tx, config, c.p1, c.p2);
  stage_content_change(tx);
  volatile_.pin_verified = volatile_.pin_fresh = false;
  return commit(tx);
}

}  // namespace certkey::agent::piv
