// Key management: GENERATE ASYMMETRIC KEY PAIR (SP 800-73-4 3.3.2), the Yubico-compatible
// IMPORT KEY, MOVE/DELETE KEY, GET METADATA and ATTEST, and certkey's SWAP SLOTS.
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/objects.hpp>
#include <certkey/protocol/tags.hpp>

#include "piv_applet.hpp"
#include "piv_defaults.hpp"

namespace certkey::agent::piv {
namespace tag = protocol::tag;
using protocol::Algorithm;

namespace {

constexpr std::uint8_t kAttestationSlot = static_cast<std::uint8_t>(protocol::KeyRef::attestation);

std::size_t key_record_length(std::uint8_t algorithm) {
  return sizeof(KeyHeader) +
         (is_rsa(algorithm) ? sizeof(hal::RsaPrivateKey) : sizeof(hal::EcPrivateKey));
}

// Key slots that hold user keys; F9 is written only by IMPORT.
constexpr bool is_user_slot(std::uint8_t slot) { return protocol::is_user_key_slot(slot); }

// AA (PIN policy) and AB (touch policy) are optional one-byte fields.
bool parse_policy(const Tlv& field, std::uint8_t& out) {
  if (field.value.size() != 1 || field.value[0] > 3) return false;
  out = field.value[0];
  return true;
}

Bytes strip_leading_zeros(Bytes b) {
  while (b.size() > 1 && b[0] == 0) b = b.subspan(1);
  return b;
}

}  // namespace

// The contents of a public key template (7F49): 81 modulus + 82 exponent, or 86 point.
Sw PivApplet::write_public_key(const KeyRecord& key, ResponseWriter& out) {
  hal::Curve curve{};
  if (is_rsa(key.header.algorithm)) {
    out.put(tag::kRsaModulus, Bytes(key.rsa.n, hal::kRsaMaxBytes));
    out.put(tag::kRsaExponent, strip_leading_zeros(Bytes(key.rsa.e, sizeof key.rsa.e)));
  } else if (curve_for(key.header.algorithm, curve)) {
    out.put(tag::kEcPoint, Bytes(key.ec.point, hal::point_size(curve)));
  } else {
    return Sw::unknown;
  }
  return Sw::ok;
}

Sw PivApplet::generate_key(const CommandApdu& c, ResponseWriter& out) {
  if (c.p1 != 0x00) return Sw::incorrect_p1p2;
  if (!is_user_slot(c.p2)) return Sw::reference_not_found;
  if (!volatile_.management_authenticated) return Sw::security_status_not_satisfied;
  Bytes control;
  if (!expect_single_tlv(c.data, tag::kControlReference, control)) return Sw::incorrect_data;
  KeyHeader header{0, 0, 0, static_cast<std::uint8_t>(protocol::KeyOrigin::generated)};
  TlvReader reader(control);
  Tlv field;
  bool have_algorithm = false;
  while (reader.next(field)) {
    if (field.tag == tag::kAlgorithm && field.value.size() == 1) {
      header.algorithm = field.value[0];
      have_algorithm = true;
    } else if (!(field.tag == tag::kPinPolicy && parse_policy(field, header.pin_policy)) &&
               !(field.tag == tag::kTouchPolicy && parse_policy(field, header.touch_policy))) {
      return Sw::incorrect_data;
    }
  }
  hal::Curve curve{};
  if (reader.failed() || !have_algorithm ||
      (!is_rsa(header.algorithm) && !curve_for(header.algorithm, curve))) {
    return Sw::incorrect_data;
  }
  key_work_.header = header;
  bool generated = is_rsa(header.algorithm) ? board_.crypto.rsa_generate(key_work_.rsa)
                                            : board_.crypto.ec_generate(curve, key_work_.ec);
  Sw sw = generated ? Sw::ok : Sw::unknown;
  if (sw == Sw::ok) {
    RecordStore::Transaction tx = store_.begin();
    tx.put(record::key(c.p2), Bytes(reinterpret_cast<const std::uint8_t*>(&key_work_),
                                    key_record_length(header.algorithm)));
    stage_content_change(tx);
    sw = commit(tx);
  }
  if (sw == Sw::ok) {
    std::size_t inner =
        is_rsa(header.algorithm)
            ? tlv_header_size(tag::kRsaModulus, hal::kRsaMaxBytes) + hal::kRsaMaxBytes +
                  tlv_header_size(tag::kRsaExponent, 3) + 3
            : tlv_header_size(tag::kEcPoint, hal::point_size(curve)) + hal::point_size(curve);
    out.put_header(tag::kPublicKeyTemplate, inner);
    sw = write_public_key(key_work_, out);
  }
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&key_work_), sizeof key_work_));
  return sw;
}

Sw PivApplet::import_key(const CommandApdu& c, ResponseWriter&) {
  if (!protocol::is_asymmetric_slot(c.p2)) return Sw::reference_not_found;
  if (!volatile_.management_authenticated) return Sw::security_status_not_satisfied;
  hal::Curve curve{};
  const bool rsa = is_rsa(c.p1);
  // The attestation key signs certificates with ECDSA P-256 (attestation.cpp).
  if ((!rsa && !curve_for(c.p1, curve)) ||
      (c.p2 == kAttestationSlot && c.p1 != static_cast<std::uint8_t>(Algorithm::ecc_p256))) {
    return Sw::incorrect_p1p2;
  }
  key_work_ = KeyRecord{};
  key_work_.header =
      KeyHeader{c.p1, 0, 0, static_cast<std::uint8_t>(protocol::KeyOrigin::imported)};
  std::uint8_t* rsa_parts[5] = {key_work_.rsa.p, key_work_.rsa.q, key_work_.rsa.dp,
                                key_work_.rsa.dq, key_work_.rsa.qinv};
  unsigned seen = 0;
  TlvReader reader(c.data);
  Tlv field;
  Sw sw = Sw::ok;
  while (sw == Sw::ok && reader.next(field)) {
    if (field.tag < 16 && (seen & (1u << field.tag))) {
      sw = Sw::incorrect_data;  // each part exactly once
    } else if (rsa && field.tag >= tag::kImportRsaP && field.tag <= tag::kImportRsaQinv &&
               field.value.size() <= hal::kRsaHalfBytes) {
      std::uint8_t* part = rsa_parts[field.tag - tag::kImportRsaP];
      std::size_t pad = hal::kRsaHalfBytes - field.value.size();
      for (std::size_t i = 0; i < field.value.size(); ++i) part[pad + i] = field.value[i];
      seen |= 1u << field.tag;
    } else if (!rsa && field.tag == tag::kImportEcPrivate &&
               field.value.size() == hal::scalar_size(curve)) {
      for (std::size_t i = 0; i < field.value.size(); ++i) key_work_.ec.d[i] = field.value[i];
      seen |= 1u << field.tag;
    } else if (!(field.tag == tag::kPinPolicy &&
                 parse_policy(field, key_work_.header.pin_policy)) &&
               !(field.tag == tag::kTouchPolicy &&
                 parse_policy(field, key_work_.header.touch_policy))) {
      sw = Sw::incorrect_data;
    }
  }
  const unsigned required = rsa ? 0x3E : 0x40;
  if (sw == Sw::ok && (reader.failed() || seen != required)) sw = Sw::incorrect_data;
  if (sw == Sw::ok && !(rsa ? board_.crypto.rsa_complete(key_work_.rsa)
                            : board_.crypto.ec_complete(curve, key_work_.ec))) {
    sw = Sw::incorrect_data;
  }
  if (sw == Sw::ok) {
    RecordStore::Transaction tx = store_.begin();
    tx.put(record::key(c.p2),
           Bytes(reinterpret_cast<const std::uint8_t*>(&key_work_), key_record_length(c.p1)));
    stage_content_change(tx);
    sw = commit(tx);
  }
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&key_work_), sizeof key_work_));
  return sw;
}

// P1 = destination slot (FF: delete), P2 = source slot. The destination must be empty, so a
// move never destroys a key; renewal moves the old key to a retired slot first.
Sw PivApplet::move_key(const CommandApdu& c, ResponseWriter&) {
  if (!is_user_slot(c.p2)) return Sw::incorrect_p1p2;
  const bool remove = c.p1 == protocol::kMoveKeyDelete;
  if (!remove && (!is_user_slot(c.p1) || c.p1 == c.p2)) return Sw::incorrect_p1p2;
  if (!volatile_.management_authenticated) return Sw::security_status_not_satisfied;
  std::size_t length = 0;
  if (!load_key(c.p2, key_work_, length)) return Sw::reference_not_found;
  Sw sw = Sw::ok;
  if (!remove && store_.contains(record::key(c.p1))) sw = Sw::conditions_not_satisfied;
  if (sw == Sw::ok) {
    RecordStore::Transaction tx = store_.begin();
    if (!remove)
      tx.put(record::key(c.p1), Bytes(reinterpret_cast<const std::uint8_t*>(&key_work_), length));
    tx.remove(record::key(c.p2));
    stage_content_change(tx);
    sw = commit(tx);
  }
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&key_work_), sizeof key_work_));
  return sw;
}

// SWAP SLOTS (certkey, CLA 80): the slots in P1 and P2 exchange their key records and their
// certificate objects in one commit, so that renewal can make a new key current: the new pair
// takes the old one's slot, the old pair the retired slot the new one came from. The store
// swaps record ids, so no key or certificate is copied and the entry is a few bytes long,
// however large the certificates are. A key's algorithm, policies and origin live in its
// record and go with it. An empty side is fine: the other side's key or certificate moves
// over, and its slot is left empty.
Sw PivApplet::swap_slots(const CommandApdu& c, ResponseWriter&) {
  if (!is_user_slot(c.p1) || !is_user_slot(c.p2) || c.p1 == c.p2) return Sw::incorrect_p1p2;
  if (!volatile_.management_authenticated) return Sw::security_status_not_satisfied;
  if (!c.data.empty()) return Sw::wrong_length;
  const std::uint16_t key_a = record::key(c.p1), key_b = record::key(c.p2);
  const std::uint16_t certificate_a = record::object(protocol::certificate_object_for_slot(c.p1));
  const std::uint16_t certificate_b = record::object(protocol::certificate_object_for_slot(c.p2));
  if (!store_.contains(key_a) && !store_.contains(key_b) && !store_.contains(certificate_a) &&
      !store_.contains(certificate_b)) {
    return Sw::reference_not_found;  // nothing to swap
  }
  RecordStore::Transaction tx = store_.begin();
  tx.swap(key_a, key_b);
  tx.swap(certificate_a, certificate_b);
  stage_content_change(tx);
  return commit(tx);
}

Sw PivApplet::get_metadata(const CommandApdu& c, ResponseWriter& out) {
  if (c.p1 != 0x00) return Sw::incorrect_p1p2;
  const std::uint8_t ref = c.p2;
  if (ref == static_cast<std::uint8_t>(protocol::KeyRef::pin) ||
      ref == static_cast<std::uint8_t>(protocol::KeyRef::puk)) {
    const bool pin = ref == static_cast<std::uint8_t>(protocol::KeyRef::pin);
    RetryCounter counter{};
    SecretHash value{};
    if (!read_counter(store_, pin ? record::kPinCounter : record::kPukCounter, counter) ||
        !read_record(pin ? record::kPinValue : record::kPukValue, &value, sizeof value)) {
      return Sw::memory_failure;
    }
    out.put_u8(tag::kMetaAlgorithm, 0xFF);
    out.put_u8(tag::kMetaIsDefault, value.is_default);
    const std::uint8_t retries[2] = {counter.limit, counter.remaining};
    out.put(tag::kMetaRetries, Bytes(retries, 2));
    return Sw::ok;
  }
  if (ref == static_cast<std::uint8_t>(protocol::KeyRef::management)) {
    ManagementKey key{};
    if (!read_record(record::kManagementKey, &key, sizeof key)) return Sw::memory_failure;
    RetryCounter counter{};
    if (!read_counter(store_, record::kManagementCounter, counter)) return Sw::memory_failure;
    const std::uint8_t policy[2] = {0, key.touch_policy};
    const std::uint8_t retries[2] = {counter.limit, counter.remaining};
    out.put_u8(tag::kMetaAlgorithm, key.algorithm);
    out.put(tag::kMetaPolicy, Bytes(policy, 2));
    out.put_u8(tag::kMetaIsDefault, key.is_default);
    out.put(tag::kMetaRetries, Bytes(retries, 2));
    secure_zero(MutableBytes(key.key, sizeof key.key));
    return Sw::ok;
  }
  if (!protocol::is_asymmetric_slot(ref)) return Sw::reference_not_found;
  std::size_t length = 0;
  if (!load_key(ref, key_work_, length)) return Sw::reference_not_found;
  const KeyHeader& h = key_work_.header;
  const std::uint8_t policy[2] = {
      static_cast<std::uint8_t>(h.pin_policy ? static_cast<protocol::PinPolicy>(h.pin_policy)
                                             : default_pin_policy(ref)),
      static_cast<std::uint8_t>(h.touch_policy
                                    ? h.touch_policy
                                    : static_cast<std::uint8_t>(protocol::TouchPolicy::never))};
  out.put_u8(tag::kMetaAlgorithm, h.algorithm);
  out.put(tag::kMetaPolicy, Bytes(policy, 2));
  out.put_u8(tag::kMetaOrigin, h.origin);
  hal::Curve curve{};
  std::size_t inner = is_rsa(h.algorithm)
                          ? tlv_header_size(tag::kRsaModulus, hal::kRsaMaxBytes) +
                                hal::kRsaMaxBytes + tlv_header_size(tag::kRsaExponent, 3) + 3
                          : (curve_for(h.algorithm, curve) ? 2 + hal::point_size(curve) : 0);
  out.put_header(tag::kMetaPublicKey, inner);
  Sw sw = write_public_key(key_work_, out);
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&key_work_), sizeof key_work_));
  return sw;
}

Sw PivApplet::attest(const CommandApdu& c, ResponseWriter& out) {
  if (c.p2 != 0x00) return Sw::incorrect_p1p2;
  if (!is_user_slot(c.p1)) return Sw::reference_not_found;
  std::size_t length = 0;
  if (!load_key(c.p1, key_work_, length)) return Sw::reference_not_found;
  // Only keys born on the token can be attested: an imported key's history is unknown.
  Sw sw = key_work_.header.origin == static_cast<std::uint8_t>(protocol::KeyOrigin::generated)
              ? build_attestation(c.p1, key_work_, out)
              : Sw::conditions_not_satisfied;
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&key_work_), sizeof key_work_));
  return sw;
}

}  // namespace certkey::agent::piv
