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

bool read_generated_key(Bytes answer, Bytes& template_contents) {
  TlvReader reader(answer);
  Tlv whole;
  if (!reader.next(whole) || whole.tag != tag::kPublicKeyTemplate || !reader.at_end()) return false;
  template_contents = whole.value;
  return true;
}

bool read_metadata(Bytes data, Metadata& out) {
  out = Metadata{};
  TlvReader reader(data);
  Tlv field;
  while (reader.next(field)) {
    const Bytes v = field.value;
    switch (field.tag) {
      case tag::kMetaAlgorithm:
        if (v.size() == 1) out.has_algorithm = true, out.algorithm = v[0];
        break;
      case tag::kMetaPolicy:
        if (v.size() == 2) out.has_policy = true, out.pin_policy = v[0], out.touch_policy = v[1];
        break;
      case tag::kMetaOrigin:
        if (v.size() == 1) out.has_origin = true, out.origin = v[0];
        break;
      case tag::kMetaPublicKey: out.has_public_key = true, out.public_key = v; break;
      case tag::kMetaIsDefault:
        if (v.size() == 1) out.has_is_default = true, out.is_default = v[0] != 0;
        break;
      case tag::kMetaRetries:
        if (v.size() == 2) out.has_retries = true, out.retry_limit = v[0], out.retries_left = v[1];
        break;
      default: break;  // a field of newer firmware
    }
  }
  return !reader.failed();
}

void write_key_list_entry(const KeyListEntry& entry, MutableBytes out) {
  if (out.size() < kListKeysEntrySize) return;
  out[0] = entry.slot;
  out[1] = entry.algorithm;
  out[2] = entry.pin_policy;
  out[3] = entry.touch_policy;
  out[4] = entry.origin;
  store_be16(out.data() + 5, entry.certificate_length);
  out[7] = 0;  // reserved
}

bool key_list_count(Bytes answer, std::size_t& count) {
  if (answer.size() % kListKeysEntrySize != 0) return false;
  count = answer.size() / kListKeysEntrySize;
  return true;
}

KeyListEntry read_key_list_entry(Bytes answer, std::size_t index) {
  const std::uint8_t* e = answer.data() + index * kListKeysEntrySize;
  return KeyListEntry{e[0], e[1], e[2], e[3], e[4], load_be16(e + 5)};
}

}  // namespace certkey::protocol
