// GENERAL AUTHENTICATE (SP 800-73-4 3.2.4): template parsing, then either the management key
// (piv_auth.cpp) or a private-key operation: sign/decrypt (81) or ECDH (85).
#include <certkey/protocol/tags.hpp>

#include "piv_applet.hpp"

namespace certkey::agent::piv {
namespace tag = protocol::tag;

Sw PivApplet::general_authenticate(const CommandApdu& c, ResponseWriter& out) {
  Bytes inner;
  if (!expect_single_tlv(c.data, tag::kDynamicAuth, inner)) return Sw::incorrect_data;
  AuthTemplate t;
  TlvReader reader(inner);
  Tlv field;
  while (reader.next(field)) {
    AuthField* target = field.tag == tag::kWitness          ? &t.witness
                        : field.tag == tag::kChallenge      ? &t.challenge
                        : field.tag == tag::kResponse       ? &t.response
                        : field.tag == tag::kExponentiation ? &t.exponentiation
                                                            : nullptr;
    if (!target || target->present) return Sw::incorrect_data;
    *target = AuthField{true, field.value};
  }
  if (reader.failed()) return Sw::incorrect_data;
  if (c.p2 == static_cast<std::uint8_t>(protocol::KeyRef::management)) {
    return authenticate_management(c, t, out);
  }
  if (!protocol::is_asymmetric_slot(c.p2) ||
      c.p2 == static_cast<std::uint8_t>(protocol::KeyRef::attestation)) {
    return Sw::reference_not_found;
  }
  return authenticate_with_key(c, t, out);
}

// Guard ladder in spec order: template form, key present, algorithm, access, input, operation.
Sw PivApplet::authenticate_with_key(const CommandApdu& c, const AuthTemplate& t,
                                    ResponseWriter& out) {
  const bool sign = t.challenge.present && !t.exponentiation.present;
  const bool derive = t.exponentiation.present && !t.challenge.present;
  if (!t.response.present || !t.response.value.empty() || t.witness.present || sign == derive) {
    return Sw::incorrect_data;
  }
  std::size_t length = 0;
  if (!load_key(c.p2, key_work_, length)) return Sw::reference_not_found;
  const KeyHeader header = key_work_.header;
  if (header.algorithm != c.p1) return Sw::incorrect_p1p2;
  Sw sw = check_key_access(c.p2, header);
  if (sw != Sw::ok) return sw;

  std::uint8_t result[hal::kRsaMaxBytes];
  std::size_t result_length = 0;
  hal::Curve curve{};
  if (is_rsa(header.algorithm)) {
    // Raw RSA: the host did the padding (PKCS#1 v1.5, PSS) or will remove it (decryption).
    Bytes input = t.challenge.value;
    if (!sign || input.size() != hal::kRsaMaxBytes) {
      sw = Sw::incorrect_data;
    } else if (!board_.crypto.rsa_private(key_work_.rsa, input,
                                          MutableBytes(result, sizeof result))) {
      sw = Sw::incorrect_data;  // input not below the modulus
    } else {
      result_length = hal::kRsaMaxBytes;
    }
  } else if (curve_for(header.algorithm, curve)) {
    if (sign) {
      Bytes digest = t.challenge.value;
      if (digest.empty() || digest.size() > hal::scalar_size(curve) ||
          !board_.crypto.ecdsa_sign(curve, key_work_.ec, digest,
                                    MutableBytes(result, sizeof result), result_length)) {
        sw = Sw::incorrect_data;
      }
    } else {
      Bytes peer = t.exponentiation.value;
      if (peer.size() != hal::point_size(curve) ||
          !board_.crypto.ecdh(curve, key_work_.ec, peer,
                              MutableBytes(result, hal::scalar_size(curve)))) {
        sw = Sw::incorrect_data;
      } else {
        result_length = hal::scalar_size(curve);
      }
    }
  } else {
    sw = Sw::incorrect_p1p2;
  }
  secure_zero(MutableBytes(reinterpret_cast<std::uint8_t*>(&key_work_), sizeof key_work_));
  if (sw == Sw::ok) {
    out.put_header(tag::kDynamicAuth,
                   tlv_header_size(tag::kResponse, result_length) + result_length);
    out.put(tag::kResponse, Bytes(result, result_length));
  }
  secure_zero(MutableBytes(result, sizeof result));
  return sw;
}

}  // namespace certkey::agent::piv
