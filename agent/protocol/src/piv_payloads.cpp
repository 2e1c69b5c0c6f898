#include <certkey/protocol/piv_payloads.hpp>
#include <certkey/protocol/tlv.hpp>

namespace certkey::protocol {

std::size_t certificate_object_size(std::size_t der_size) {
  return tlv_header_size(tag::kCertificate, der_size) + der_size + sizeof kCertificateObjectTrailer;
}

std::size_t write_certificate_object(Bytes der, MutableBytes out) {
  TlvWriter w(out);
  w.put(tag::kCertificate, der);
  w.put_raw(Bytes(kCertificateObjectTrailer, sizeof kCertificateObjectTrailer));
  return w.overflowed() ? 0 : w.size();
}

bool read_certificate_object(Bytes object, Bytes& der) {
  Tlv certificate;
  if (!find_tlv(object, tag::kCertificate, certificate)) return false;
  der = certificate.value;
  return true;
}

bool read_public_key_template(Bytes data, bool rsa, PublicKeyTemplate& out) {
  Bytes contents = data;
  TlvReader outer(data);
  Tlv whole;
  if (outer.next(whole) && whole.tag == tag::kPublicKeyTemplate) {
    if (!outer.at_end()) return false;
    contents = whole.value;
  }
  out = PublicKeyTemplate{};
  bool have_n = false, have_e = false, have_point = false;
  TlvReader reader(contents);
  Tlv field;
  while (reader.next(field)) {
    if (rsa && field.tag == tag::kRsaModulus && !have_n) {
      out.modulus = field.value, have_n = true;
    } else if (rsa && field.tag == tag::kRsaExponent && !have_e) {
      out.exponent = field.value, have_e = true;
    } else if (!rsa && field.tag == tag::kEcPoint && !have_point) {
      out.point = field.value, have_point = true;
    } else {
      return false;
    }
  }
  if (reader.failed()) return false;
  return rsa ? have_n && have_e : have_point;
}

bool read_protected_management_key(Bytes printed_information, Bytes& key) {
  Tlv outer, inner;
  if (!find_tlv(printed_information, kProtectedDataTag, outer) ||
      !find_tlv(outer.value, kProtectedManagementKeyTag, inner)) {
    return false;
  }
  key = inner.value;
  return true;
}

}  // namespace certkey::protocol
