// Attestation (Yubico-compatible INS F9): the token certifies, with its attestation key in
// slot F9, that a key was generated on it. The F9 key and its self-signed certificate
// (object 5FFF01) are created at personalisation; an issuer may replace the certificate
// with one chained to its own CA by PUT DATA.
#include <certkey/protocol/objects.hpp>
#include <certkey/protocol/piv_payloads.hpp>
#include <certkey/protocol/tags.hpp>

#include "../../core/der_writer.hpp"
#include "piv_applet.hpp"
#include "piv_defaults.hpp"

namespace certkey::agent::piv {
using protocol::Algorithm;

namespace {

constexpr std::uint8_t kOidCommonName[] = {0x55, 0x04, 0x03};
constexpr std::uint8_t kOidBasicConstraints[] = {0x55, 0x1D, 0x13};
constexpr std::uint8_t kOidEcPublicKey[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
constexpr std::uint8_t kOidRsaEncryption[] = {0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01};
constexpr std::uint8_t kEcdsaSha256[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
                                         0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};
// Yubico's attestation extensions, 1.3.6.1.4.1.41482.3.{3,7,8}.
constexpr std::uint8_t kOidYubicoFirmware[] = {0x2B, 0x06, 0x01, 0x04, 0x01,
                                               0x82, 0xC4, 0x0A, 0x03, 0x03};
constexpr std::uint8_t kOidYubicoSerial[] = {0x2B, 0x06, 0x01, 0x04, 0x01,
                                             0x82, 0xC4, 0x0A, 0x03, 0x07};
constexpr std::uint8_t kOidYubicoPolicy[] = {0x2B, 0x06, 0x01, 0x04, 0x01,
                                             0x82, 0xC4, 0x0A, 0x03, 0x08};
constexpr char kNotBefore[] = "200101000000Z";   // UTCTime: tokens have no clock
constexpr char kNotAfter[] = "99991231235959Z";  // GeneralizedTime: no expiry (RFC 5280 4.1.2.5)
constexpr std::uint8_t kSlot = static_cast<std::uint8_t>(protocol::KeyRef::attestation);

Bytes text(const char* s, std::size_t n) {
  return Bytes(reinterpret_cast<const std::uint8_t*>(s), n);
}

void write_name(DerWriter& w, Bytes common_name) {
  std::size_t m = w.mark();
  w.tlv(0x0C, common_name);  // UTF8String
  w.tlv(0x06, Bytes(kOidCommonName, sizeof kOidCommonName));
  w.wrap(0x30, m);
  w.wrap(0x31, m);
  w.wrap(0x30, m);
}

// False for a key of an algorithm the table does not have (a stored key never is).
bool write_spki(DerWriter& w, const KeyRecord& key) {
  std::size_t m = w.mark();
  if (is_rsa(key.header.algorithm)) {
    std::size_t bits = w.mark();
    w.unsigned_integer(Bytes(key.rsa.e, sizeof key.rsa.e));
    w.unsigned_integer(Bytes(key.rsa.n, hal::kRsaMaxBytes));
    w.wrap(0x30, bits);
    w.raw(Bytes(reinterpret_cast<const std::uint8_t*>("\0"), 1));
    w.wrap(0x03, bits);
    std::size_t alg = w.mark();
    w.tlv(0x05, Bytes());
    w.tlv(0x06, Bytes(kOidRsaEncryption, sizeof kOidRsaEncryption));
    w.wrap(0x30, alg);
  } else {
    const protocol::KeyAlgorithm* row = protocol::key_algorithm(key.header.algorithm);
    hal::Curve curve = hal::Curve::p256;
    if (!row || !curve_for(key.header.algorithm, curve)) return false;
    w.bit_string(Bytes(key.ec.point, hal::point_size(curve)));
    std::size_t alg = w.mark();
    w.tlv(0x06, Bytes(row->curve_oid, row->curve_oid_length));
    w.tlv(0x06, Bytes(kOidEcPublicKey, sizeof kOidEcPublicKey));
    w.wrap(0x30, alg);
  }
  w.wrap(0x30, m);
  return true;
}

void write_extension(DerWriter& w, Bytes oid, bool critical, Bytes value) {
  std::size_t m = w.mark();
  w.tlv(0x04, value);
  if (critical) w.tlv(0x01, Bytes(reinterpret_cast<const std::uint8_t*>("\xFF"), 1));
  w.tlv(0x06, oid);
  w.wrap(0x30, m);
}

// The subject Name of a stored certificate object (70 cert, 71 info, FE).
bool certificate_subject(Bytes object, Bytes& subject) {
  Tlv cert, tbs, field;
  if (!find_tlv(object, protocol::tag::kCertificate, cert)) return false;
  if (!find_tlv(cert.value, 0x30, cert) || !find_tlv(cert.value, 0x30, tbs)) return false;
  TlvReader reader(tbs.value);
  int index = 0;  // serial, signature, issuer, validity, subject after the optional [0] version
  while (reader.next(field)) {
    if (field.tag == 0xA0 && index == 0) continue;
    if (++index == 5) {
      subject = field.whole;
      return field.tag == 0x30;
    }
  }
  return false;
}

void hex_byte(std::uint8_t v, char* out) {
  constexpr char kHex[] = "0123456789ABCDEF";
  out[0] = kHex[v >> 4];
  out[1] = kHex[v & 0x0F];
}

}  // namespace

Sw PivApplet::issue_certificate(Bytes issuer_name, Bytes subject_cn, const KeyRecord& subject_key,
                                const hal::EcPrivateKey& signer, std::uint8_t attested_slot,
                                ResponseWriter& out) {
  DerWriter w(MutableBytes(der_work_, sizeof der_work_));
  std::size_t tbs = w.mark();
  std::size_t extensions = w.mark();
  if (attested_slot != 0) {
    const std::uint8_t policy[2] = {
        subject_key.header.pin_policy
            ? subject_key.header.pin_policy
            : static_cast<std::uint8_t>(default_pin_policy(attested_slot)),
        subject_key.header.touch_policy ? subject_key.header.touch_policy
                                        : static_cast<std::uint8_t>(protocol::TouchPolicy::never)};
    write_extension(w, Bytes(kOidYubicoPolicy, sizeof kOidYubicoPolicy), false, Bytes(policy, 2));
    std::uint8_t serial_der[8];
    DerWriter serial_writer(MutableBytes(serial_der, sizeof serial_der));
    serial_writer.small_integer(serial());
    write_extension(w, Bytes(kOidYubicoSerial, sizeof kOidYubicoSerial), false,
                    serial_writer.result());
    write_extension(w, Bytes(kOidYubicoFirmware, sizeof kOidYubicoFirmware), false,
                    Bytes(kCompatibilityVersion, 3));
  } else {
    static constexpr std::uint8_t kCaTrue[] = {0x30, 0x03, 0x01, 0x01, 0xFF};
    write_extension(w, Bytes(kOidBasicConstraints, sizeof kOidBasicConstraints), true,
                    Bytes(kCaTrue, sizeof kCaTrue));
  }
  w.wrap(0x30, extensions);
  w.wrap(0xA3, extensions);
  if (!write_spki(w, subject_key)) return Sw::unknown;
  write_name(w, subject_cn);
  std::size_t validity = w.mark();
  w.tlv(0x18, text(kNotAfter, sizeof kNotAfter - 1));
  w.tlv(0x17, text(kNotBefore, sizeof kNotBefore - 1));
  w.wrap(0x30, validity);
  if (issuer_name.empty()) {
    write_name(w, subject_cn);
  } else {
    w.raw(issuer_name);
  }
  w.raw(Bytes(kEcdsaSha256, sizeof kEcdsaSha256));
  std::uint8_t serial_number[16];
  if (!board_.random.fill(MutableBytes(serial_number, sizeof serial_number))) return Sw::unknown;
  serial_number[0] = static_cast<std::uint8_t>((serial_number[0] & 0x7F) | 0x01);
  w.unsigned_integer(Bytes(serial_number, sizeof serial_number));
  std::size_t version = w.mark();
  w.small_integer(2);  // v3
  w.wrap(0xA0, version);
  w.wrap(0x30, tbs);
  if (w.overflowed()) return Sw::unknown;

  std::uint8_t digest[32];
  std::uint8_t signature[hal::kEcdsaMaxDer];
  std::size_t signature_length = 0;
  board_.crypto.sha256(w.result(), MutableBytes(digest, sizeof digest));
  if (!board_.crypto.ecdsa_sign(hal::Curve::p256, signer, Bytes(digest, sizeof digest),
                                MutableBytes(signature, sizeof signature), signature_length)) {
    return Sw::unknown;
  }
  const std::size_t bit_string = 1 + signature_length;
  out.put_header(0x30, w.result().size() + sizeof kEcdsaSha256 + tlv_header_size(0x03, bit_string) +
                           bit_string);
  out.put_raw(w.result());
  out.put_raw(Bytes(kEcdsaSha256, sizeof kEcdsaSha256));
  out.put_header(0x03, bit_string);
  out.put_raw(Bytes(reinterpret_cast<const std::uint8_t*>("\0"), 1));
  out.put_raw(Bytes(signature, signature_length));
  return out.overflowed() ? Sw::unknown : Sw::ok;
}

Sw PivApplet::build_attestation(std::uint8_t slot, const KeyRecord& key, ResponseWriter& out) {
  std::size_t length = 0;
  if (!load_key(kSlot, signer_work_, length) ||
      signer_work_.header.algorithm != static_cast<std::uint8_t>(Algorithm::ecc_p256)) {
    return Sw::reference_not_found;
  }
  std::size_t object_length = 0;
  Bytes issuer;
  if (store_.read(record::object(protocol::object::kAttestationCert),
                  MutableBytes(object_work_, sizeof object_work_),
                  object_length) != StoreResult::ok ||
      !certificate_subject(Bytes(object_work_, object_length), issuer)) {
    return Sw::not_found;
  }
  char cn[] = "certkey PIV Attestation 00";
  hex_byte(slot, cn + sizeof cn - 3);
  Sw sw = issue_certificate(issuer, text(cn, sizeof cn - 1), key, signer_work_.ec, slot, out);
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&signer_work_), sizeof signer_work_));
  return sw;
}

Sw PivApplet::create_attestation_identity(RecordStore::Transaction& tx, std::uint32_t serial) {
  signer_work_ = KeyRecord{};
  signer_work_.header = KeyHeader{static_cast<std::uint8_t>(Algorithm::ecc_p256),
                                  static_cast<std::uint8_t>(protocol::PinPolicy::never),
                                  static_cast<std::uint8_t>(protocol::TouchPolicy::never),
                                  static_cast<std::uint8_t>(protocol::KeyOrigin::generated)};
  if (!board_.crypto.ec_generate(hal::Curve::p256, signer_work_.ec)) return Sw::unknown;
  tx.put(record::key(kSlot), Bytes(reinterpret_cast<const std::uint8_t*>(&signer_work_),
                                   sizeof(KeyHeader) + sizeof(hal::EcPrivateKey)));

  char cn[] = "certkey Attestation 00000000";
  for (int i = 0; i < 4; ++i) {
    hex_byte(static_cast<std::uint8_t>(serial >> (24 - 8 * i)), cn + sizeof cn - 9 + 2 * i);
  }
  // The certificate object (protocol/piv_payloads.hpp), built in place: room is reserved
  // for the 70 header, which is known only once the certificate is written.
  constexpr std::size_t kHeaderRoom = 4;
  ResponseWriter cert(
      MutableBytes(object_work_ + kHeaderRoom,
                   sizeof object_work_ - kHeaderRoom - sizeof protocol::kCertificateObjectTrailer));
  Sw sw =
      issue_certificate(Bytes(), text(cn, sizeof cn - 1), signer_work_, signer_work_.ec, 0, cert);
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&signer_work_), sizeof signer_work_));
  if (sw != Sw::ok) return sw;
  const std::size_t header = tlv_header_size(protocol::tag::kCertificate, cert.size());
  ResponseWriter head(MutableBytes(object_work_ + kHeaderRoom - header, header));
  head.put_header(protocol::tag::kCertificate, cert.size());
  const auto& trailer = protocol::kCertificateObjectTrailer;
  for (std::size_t i = 0; i < sizeof trailer; ++i)
    object_work_[kHeaderRoom + cert.size() + i] = trailer[i];
  tx.put(record::object(protocol::object::kAttestationCert),
         Bytes(object_work_ + kHeaderRoom - header, header + cert.size() + sizeof trailer));
  return Sw::ok;
}

}  // namespace certkey::agent::piv
