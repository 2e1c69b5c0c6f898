// The object model: each PIV key slot shows as up to three token objects (certificate,
// public key, private key) with handles that stay valid across cache refreshes, plus session
// objects (ECDH-derived secrets). Attribute values are computed from the cached KeySlot.
#pragma once
#include <cstring>
#include <map>
#include <optional>

#include "token.hpp"

namespace certkey::p11 {

enum class ObjectKind : std::uint8_t {
  certificate = 1,
  public_key = 2,
  private_key = 3,
  session_secret = 4
};

// Token objects carry the slot table index, the kind and the PIV slot; session objects (kind
// 4) a number that is never reused while the object lives (objects.cpp).
struct ObjectHandle {
  std::size_t token_index = 0;
  ObjectKind kind = ObjectKind::certificate;
  std::uint32_t id = 0;  // PIV slot, or session object number
};
inline constexpr std::uint32_t kObjectIdMask = 0xFFFFF;
CK_OBJECT_HANDLE encode_handle(const ObjectHandle& h);
std::optional<ObjectHandle> decode_handle(CK_OBJECT_HANDLE handle);

// CKA_ID of a PIV slot (9A=01, 9C=02, 9D=03, 9E=04, 82..95 = 05..18, as OpenSC numbers them).
std::uint8_t key_id(std::uint8_t piv_slot);
std::optional<std::uint8_t> slot_for_key_id(const Bytes& id);

// A session object: destroyed with the session that created it (PKCS#11 section 4.4).
struct SessionSecret {
  Bytes value;
  CK_SESSION_HANDLE session = 0;
  std::size_t token_index = 0;
  ~SessionSecret();
};

// One attribute's encoded value, or the PKCS#11 reason it has none.
struct AttributeValue {
  CK_RV rv = CKR_OK;  // CKR_ATTRIBUTE_TYPE_INVALID or CKR_ATTRIBUTE_SENSITIVE
  Bytes bytes;
};
AttributeValue token_object_attribute(const KeySlot& slot, ObjectKind kind, CK_ATTRIBUTE_TYPE type);
AttributeValue session_secret_attribute(const SessionSecret& secret, CK_ATTRIBUTE_TYPE type);

// Does the object have every attribute of the template with exactly those bytes?
template <typename Lookup>
bool matches(const CK_ATTRIBUTE* templ, CK_ULONG count, Lookup&& lookup) {
  for (CK_ULONG i = 0; i < count; ++i) {
    AttributeValue v = lookup(templ[i].type);
    if (v.rv != CKR_OK || v.bytes.size() != templ[i].ulValueLen) return false;
    if (templ[i].ulValueLen &&
        std::memcmp(v.bytes.data(), templ[i].pValue, templ[i].ulValueLen) != 0)
      return false;
  }
  return true;
}

// Writes attribute values in PKCS#11's C_GetAttributeValue convention.
template <typename Lookup>
CK_RV fill_attributes(CK_ATTRIBUTE* templ, CK_ULONG count, Lookup&& lookup) {
  CK_RV result = CKR_OK;
  for (CK_ULONG i = 0; i < count; ++i) {
    AttributeValue v = lookup(templ[i].type);
    if (v.rv != CKR_OK) {
      templ[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
      result = v.rv;
    } else if (!templ[i].pValue) {
      templ[i].ulValueLen = v.bytes.size();
    } else if (templ[i].ulValueLen < v.bytes.size()) {
      templ[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
      result = CKR_BUFFER_TOO_SMALL;
    } else {
      if (!v.bytes.empty()) std::memcpy(templ[i].pValue, v.bytes.data(), v.bytes.size());
      templ[i].ulValueLen = v.bytes.size();
    }
  }
  return result;
}

// Typed access to a template attribute supplied by the application.
std::optional<Bytes> template_bytes(const CK_ATTRIBUTE* templ, CK_ULONG count,
                                    CK_ATTRIBUTE_TYPE type);
std::optional<CK_ULONG> template_ulong(const CK_ATTRIBUTE* templ, CK_ULONG count,
                                       CK_ATTRIBUTE_TYPE type);

}  // namespace certkey::p11
