#include "objects.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <certkey/protocol/algorithms.hpp>

namespace certkey::p11 {
namespace {

using protocol::Algorithm;

Bytes ulong_bytes(CK_ULONG v) {
  Bytes b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}
Bytes bool_bytes(bool v) { return Bytes{static_cast<std::uint8_t>(v ? CK_TRUE : CK_FALSE)}; }
Bytes text_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }
AttributeValue ok(Bytes b) { return AttributeValue{CKR_OK, std::move(b)}; }
AttributeValue invalid() { return AttributeValue{CKR_ATTRIBUTE_TYPE_INVALID, {}}; }
AttributeValue sensitive() { return AttributeValue{CKR_ATTRIBUTE_SENSITIVE, {}}; }

std::string slot_name(std::uint8_t piv_slot) {
  switch (piv_slot) {
    case 0x9A: return "PIV Authentication";
    case 0x9C: return "Digital Signature";
    case 0x9D: return "Key Management";
    case 0x9E: return "Card Authentication";
    default: return "Retired Key " + std::to_string(piv_slot - 0x82 + 1);
  }
}

bool is_rsa(const KeySlot& s) { return s.public_key && s.public_key->is_rsa; }

// Attributes every object of the slot shares.
std::optional<AttributeValue> common(const KeySlot& slot, ObjectKind kind, CK_ATTRIBUTE_TYPE type) {
  switch (type) {
    case CKA_TOKEN: return ok(bool_bytes(true));
    case CKA_PRIVATE:
      return ok(bool_bytes(kind == ObjectKind::private_key && !slot.usable_without_login()));
    case CKA_MODIFIABLE: return ok(bool_bytes(false));  // C_SetAttributeValue changes nothing
    case CKA_COPYABLE: return ok(bool_bytes(false));
    case CKA_DESTROYABLE: return ok(bool_bytes(kind != ObjectKind::public_key));
    case CKA_LABEL: return ok(text_bytes(slot_name(slot.piv_slot)));
    case CKA_ID: return ok(Bytes{key_id(slot.piv_slot)});
    default: return std::nullopt;
  }
}

AttributeValue certificate_attribute(const KeySlot& slot, CK_ATTRIBUTE_TYPE type) {
  const CertificateFields* f = slot.cert_fields ? &*slot.cert_fields : nullptr;
  switch (type) {
    case CKA_CLASS: return ok(ulong_bytes(CKO_CERTIFICATE));
    case CKA_CERTIFICATE_TYPE: return ok(ulong_bytes(CKC_X_509));
    case CKA_TRUSTED: return ok(bool_bytes(false));
    case CKA_CERTIFICATE_CATEGORY: return ok(ulong_bytes(0));
    case CKA_VALUE: return ok(slot.certificate);
    case CKA_SUBJECT: return f ? ok(f->subject) : ok({});
    case CKA_ISSUER: return f ? ok(f->issuer) : ok({});
    case CKA_SERIAL_NUMBER: return f ? ok(f->serial_number) : ok({});
    case CKA_PUBLIC_KEY_INFO: return f ? ok(f->spki) : ok({});
    case CKA_CHECK_VALUE: {
      Bytes hash = digest(Hash::sha1, slot.certificate);
      return ok(Bytes(hash.begin(), hash.begin() + 3));
    }
    case CKA_START_DATE:
    case CKA_END_DATE:
    case CKA_URL:
    case CKA_HASH_OF_SUBJECT_PUBLIC_KEY:
    case CKA_HASH_OF_ISSUER_PUBLIC_KEY: return ok({});
    case CKA_JAVA_MIDP_SECURITY_DOMAIN: return ok(ulong_bytes(0));
    case CKA_NAME_HASH_ALGORITHM: return ok(ulong_bytes(CKM_SHA_1));
    default: return invalid();
  }
}

// Attributes both key objects of a slot share: type, public parts, usage.
std::optional<AttributeValue> key_common(const KeySlot& slot, CK_ATTRIBUTE_TYPE type) {
  const PublicKeyParts* k = slot.public_key ? &*slot.public_key : nullptr;
  if (!k) return std::nullopt;
  const bool generated = slot.origin == static_cast<std::uint8_t>(protocol::KeyOrigin::generated);
  switch (type) {
    case CKA_KEY_TYPE: return ok(ulong_bytes(k->is_rsa ? CKK_RSA : CKK_EC));
    case CKA_SUBJECT: return ok(slot.cert_fields ? slot.cert_fields->subject : Bytes{});
    case CKA_START_DATE:
    case CKA_END_DATE: return ok({});
    case CKA_LOCAL: return ok(bool_bytes(generated));
    case CKA_KEY_GEN_MECHANISM:
      return ok(ulong_bytes(!generated  ? CK_UNAVAILABLE_INFORMATION
                            : k->is_rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN
                                        : CKM_EC_KEY_PAIR_GEN));
    case CKA_DERIVE: return ok(bool_bytes(!k->is_rsa));
    case CKA_PUBLIC_KEY_INFO:
      return ok(k->is_rsa ? rsa_spki(k->modulus, k->exponent) : ec_spki(k->curve, k->point));
    case CKA_MODULUS: return k->is_rsa ? ok(k->modulus) : invalid();
    case CKA_MODULUS_BITS: return k->is_rsa ? ok(ulong_bytes(k->modulus.size() * 8)) : invalid();
    case CKA_PUBLIC_EXPONENT: return k->is_rsa ? ok(k->exponent) : invalid();
    case CKA_EC_PARAMS: return k->is_rsa ? invalid() : ok(ec_params(k->curve));
    case CKA_EC_POINT: return k->is_rsa ? invalid() : ok(ec_point_attribute(k->point));
    default: return std::nullopt;
  }
}

AttributeValue public_key_attribute(const KeySlot& slot, CK_ATTRIBUTE_TYPE type) {
  if (type == CKA_CLASS) return ok(ulong_bytes(CKO_PUBLIC_KEY));
  if (auto v = key_common(slot, type)) return *v;
  switch (type) {
    case CKA_ENCRYPT:
    case CKA_WRAP:
    case CKA_VERIFY_RECOVER: return ok(bool_bytes(is_rsa(slot)));
    case CKA_VERIFY: return ok(bool_bytes(true));
    case CKA_TRUSTED: return ok(bool_bytes(false));
    default: return invalid();
  }
}

AttributeValue private_key_attribute(const KeySlot& slot, CK_ATTRIBUTE_TYPE type) {
  if (type == CKA_CLASS) return ok(ulong_bytes(CKO_PRIVATE_KEY));
  if (auto v = key_common(slot, type)) return *v;
  const bool generated = slot.origin == static_cast<std::uint8_t>(protocol::KeyOrigin::generated);
  switch (type) {
    case CKA_SENSITIVE:
    case CKA_SIGN: return ok(bool_bytes(true));
    case CKA_DECRYPT:
    case CKA_UNWRAP:
    case CKA_SIGN_RECOVER: return ok(bool_bytes(is_rsa(slot)));
    case CKA_EXTRACTABLE:
    case CKA_WRAP_WITH_TRUSTED: return ok(bool_bytes(false));
    case CKA_ALWAYS_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE: return ok(bool_bytes(generated));
    case CKA_ALWAYS_AUTHENTICATE:
      return ok(bool_bytes(slot.pin_policy == protocol::PinPolicy::always));
    case CKA_PRIVATE_EXPONENT:
    case CKA_PRIME_1:
    case CKA_PRIME_2:
    case CKA_EXPONENT_1:
    case CKA_EXPONENT_2:
    case CKA_COEFFICIENT:
    case CKA_VALUE: return sensitive();
    default: return invalid();
  }
}

}  // namespace

// (token index + 1) << 24 | kind << 20 | id (20 bits): 255 slots, a million session objects.
CK_OBJECT_HANDLE encode_handle(const ObjectHandle& h) {
  return (static_cast<CK_OBJECT_HANDLE>(h.token_index + 1) << 24) |
         (static_cast<CK_OBJECT_HANDLE>(h.kind) << 20) | (h.id & kObjectIdMask);
}

std::optional<ObjectHandle> decode_handle(CK_OBJECT_HANDLE handle) {
  const CK_OBJECT_HANDLE index = (handle >> 24) & 0xFF;
  const auto kind = static_cast<std::uint8_t>((handle >> 20) & 0xF);
  if (index == 0 || kind < 1 || kind > 4 || (handle >> 32) != 0) return std::nullopt;
  return ObjectHandle{static_cast<std::size_t>(index - 1), static_cast<ObjectKind>(kind),
                      static_cast<std::uint32_t>(handle & kObjectIdMask)};
}

// The mapping pkcs11_vendor.h publishes (CERTKEY_KEY_ID_*).
constexpr std::uint8_t kStandardSlots[] = {0x9A, 0x9C, 0x9D, 0x9E};

std::uint8_t key_id(std::uint8_t piv_slot) {
  for (std::uint8_t i = 0; i < sizeof kStandardSlots; ++i) {
    if (kStandardSlots[i] == piv_slot) return static_cast<std::uint8_t>(CERTKEY_KEY_ID_9A + i);
  }
  return static_cast<std::uint8_t>(piv_slot - CERTKEY_FIRST_RETIRED_SLOT +
                                   CERTKEY_KEY_ID_FIRST_RETIRED);
}

std::optional<std::uint8_t> slot_for_key_id(const Bytes& id) {
  if (id.size() != 1) return std::nullopt;
  if (id[0] >= CERTKEY_KEY_ID_9A && id[0] <= CERTKEY_KEY_ID_9E)
    return kStandardSlots[id[0] - CERTKEY_KEY_ID_9A];
  if (id[0] >= CERTKEY_KEY_ID_FIRST_RETIRED && id[0] <= CERTKEY_KEY_ID_LAST_RETIRED) {
    return static_cast<std::uint8_t>(CERTKEY_FIRST_RETIRED_SLOT + id[0] -
                                     CERTKEY_KEY_ID_FIRST_RETIRED);
  }
  return std::nullopt;
}

SessionSecret::~SessionSecret() {
  if (!value.empty()) OPENSSL_cleanse(value.data(), value.size());
}

AttributeValue token_object_attribute(const KeySlot& slot, ObjectKind kind,
                                      CK_ATTRIBUTE_TYPE type) {
  if (auto v = common(slot, kind, type)) return *v;
  switch (kind) {
    case ObjectKind::certificate: return certificate_attribute(slot, type);
    case ObjectKind::public_key: return public_key_attribute(slot, type);
    case ObjectKind::private_key: return private_key_attribute(slot, type);
    case ObjectKind::session_secret: break;
  }
  return invalid();
}

AttributeValue session_secret_attribute(const SessionSecret& secret, CK_ATTRIBUTE_TYPE type) {
  switch (type) {
    case CKA_CLASS: return ok(ulong_bytes(CKO_SECRET_KEY));
    case CKA_KEY_TYPE: return ok(ulong_bytes(CKK_GENERIC_SECRET));
    case CKA_TOKEN:
    case CKA_PRIVATE:
    case CKA_SENSITIVE:
    case CKA_ALWAYS_SENSITIVE: return ok(bool_bytes(false));
    case CKA_EXTRACTABLE:
    case CKA_DERIVE:
    case CKA_LOCAL: return ok(bool_bytes(true));
    case CKA_VALUE: return ok(secret.value);
    case CKA_VALUE_LEN: return ok(ulong_bytes(secret.value.size()));
    case CKA_LABEL:
    case CKA_ID: return ok({});
    default: return invalid();
  }
}

std::optional<Bytes> template_bytes(const CK_ATTRIBUTE* templ, CK_ULONG count,
                                    CK_ATTRIBUTE_TYPE type) {
  for (CK_ULONG i = 0; i < count; ++i) {
    if (templ[i].type != type) continue;
    if (!templ[i].pValue && templ[i].ulValueLen) return std::nullopt;
    const auto* p = static_cast<const std::uint8_t*>(templ[i].pValue);
    return Bytes(p, p + templ[i].ulValueLen);
  }
  return std::nullopt;
}

std::optional<CK_ULONG> template_ulong(const CK_ATTRIBUTE* templ, CK_ULONG count,
                                       CK_ATTRIBUTE_TYPE type) {
  auto b = template_bytes(templ, count, type);
  if (!b || b->size() != sizeof(CK_ULONG)) return std::nullopt;
  CK_ULONG v;
  std::memcpy(&v, b->data(), sizeof v);
  return v;
}

}  // namespace certkey::p11
