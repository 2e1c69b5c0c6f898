// Object access: C_FindObjects*, C_GetAttributeValue, C_CreateObject (certificates),
// C_DestroyObject, C_GenerateKeyPair.
#include <certkey/card/error.hpp>
#include <certkey/protocol/defaults.hpp>
#include <certkey/protocol/limits.hpp>
#include <openssl/crypto.h>
#include <certkey/protocol/objects.hpp>
#include <certkey/protocol/tags.hpp>

#include <certkey/protocol/piv_payloads.hpp>
#include "module.hpp"

namespace certkey::p11 {
namespace {

using protocol::Algorithm;

// Where keys go when the application names no CKA_ID: the standard slots, then retired ones.
std::vector<std::uint8_t> key_slot_order() {
  std::vector<std::uint8_t> order = {0x9A, 0x9C, 0x9D, 0x9E};
  for (std::uint8_t s = 0x82; s <= 0x95; ++s) order.push_back(s);
  return order;
}

Bytes certificate_object(const Bytes& der) {
  Bytes out(protocol::certificate_object_size(der.size()));
  out.resize(protocol::write_certificate_object(protocol::Bytes(der.data(), der.size()),
                                                protocol::MutableBytes(out.data(), out.size())));
  return out;
}

bool same_public_key(const KeySlot& slot, const Bytes& spki) {
  if (!slot.public_key) return false;
  const PublicKeyParts& k = *slot.public_key;
  return spki == (k.is_rsa ? rsa_spki(k.modulus, k.exponent) : ec_spki(k.curve, k.point));
}

}  // namespace

const std::vector<KeySlot>& Module::key_slots(Token& token,
                                              const std::optional<card::TokenInfo>& known) {
  if (const std::vector<KeySlot>* at_hand = token.objects_at_hand(known ? &*known : nullptr))
    return *at_hand;
  return token.run([&](card::TokenClient& c) -> const std::vector<KeySlot>& {
    return token.key_slots(c, known ? &*known : nullptr);
  });
}

const KeySlot* Module::key_slot(Token& token, std::uint8_t piv_slot) {
  const std::vector<KeySlot>* cached = token.cached_key_slots();
  for (const KeySlot& k : cached ? *cached : key_slots(token)) {
    if (k.piv_slot == piv_slot) return &k;
  }
  return nullptr;
}

std::optional<SessionSecret*> Module::session_secret(std::uint32_t id) {
  auto it = secrets_.find(id);
  if (it == secrets_.end() || !sessions_.count(it->second.session)) return std::nullopt;
  return &it->second;
}

// PIV writes need the management key: the token's default while it still has it, else the
// PIN-protected key (Yubico's convention, object 5FC109 holding 88 { 89 key }).
void Module::authenticate_management(card::TokenClient& client) {
  card::ManagementKeyInfo info = client.management_key_info();
  try {
    if (info.is_default) {
      const auto& k = protocol::kDefaultManagementKey;
      client.authenticate_management(Bytes(k.begin(), k.end()), info.algorithm);
      return;
    }
    authenticate_with_protected_key(client, info);
  } catch (const card::Error& e) {
    // Not a PIN problem: the token refused the management key (63Cx counts its tries, 6983
    // when none are left; docs/protocol.md section 8). Any other status is the device's fault.
    const bool key_refused =
        e.kind() == card::Error::Kind::refused &&
        (protocol::is_verify_failed(e.sw()) || e.is(Sw::authentication_blocked) ||
         e.is(Sw::security_status_not_satisfied));
    if (key_refused) throw Failure{CKR_TOKEN_WRITE_PROTECTED};
    throw;
  }
}

void Module::authenticate_with_protected_key(card::TokenClient& client,
                                             const card::ManagementKeyInfo& info) {
  std::optional<Bytes> object = client.read_object(protocol::object::kPrintedInformation);
  protocol::Bytes key;
  if (!object || !protocol::read_protected_management_key(
                     protocol::Bytes(object->data(), object->size()), key)) {
    throw Failure{CKR_TOKEN_WRITE_PROTECTED};  // the management key is known only to its holder
  }
  Bytes secret(key.begin(), key.end());
  client.authenticate_management(secret, info.algorithm);
  OPENSSL_cleanse(secret.data(), secret.size());
  OPENSSL_cleanse(object->data(), object->size());
}

CK_RV Module::find_objects_init(CK_SESSION_HANDLE handle, CK_ATTRIBUTE* templ, CK_ULONG count) {
  Session& s = session(handle, !count || templ);
  if (s.finding) return CKR_OPERATION_ACTIVE;
  for (CK_ULONG i = 0; i < count; ++i) {
    if (!templ[i].pValue && templ[i].ulValueLen) return CKR_ATTRIBUTE_VALUE_INVALID;
  }
  Token& token = token_of(s);
  s.found.clear();
  // Right after this session's C_Login, the change counter it read: no transaction when the
  // objects are at hand, and no TOKEN INFO when they must be read.
  const std::vector<KeySlot>& slots = key_slots(token, token.take_objects_check(handle));
  for (const KeySlot& k : slots) {
    auto consider = [&](ObjectKind kind) {
      auto lookup = [&](CK_ATTRIBUTE_TYPE t) { return token_object_attribute(k, kind, t); };
      if (matches(templ, count, lookup))
        s.found.push_back(encode_handle({s.token_index, kind, k.piv_slot}));
    };
    if (!k.certificate.empty()) consider(ObjectKind::certificate);
    if (k.has_key() && k.public_key) {
      consider(ObjectKind::public_key);
      // Private objects need a login; keys usable without one are public objects.
      if (token.user_logged_in() || k.usable_without_login()) consider(ObjectKind::private_key);
    }
  }
  for (auto& [id, secret] : secrets_) {
    if (secret.token_index != s.token_index) continue;
    auto lookup = [&](CK_ATTRIBUTE_TYPE t) { return session_secret_attribute(secret, t); };
    if (matches(templ, count, lookup))
      s.found.push_back(encode_handle({s.token_index, ObjectKind::session_secret, id}));
  }
  s.found_next = 0;
  s.finding = true;
  return CKR_OK;
}

CK_RV Module::find_objects(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE* objects, CK_ULONG max,
                           CK_ULONG* count) {
  Session& s = session(handle, objects && count);
  if (!s.finding) return CKR_OPERATION_NOT_INITIALIZED;
  CK_ULONG n = 0;
  while (n < max && s.found_next < s.found.size()) objects[n++] = s.found[s.found_next++];
  *count = n;
  return CKR_OK;
}

CK_RV Module::find_objects_final(CK_SESSION_HANDLE handle) {
  Session& s = session(handle);
  if (!s.finding) return CKR_OPERATION_NOT_INITIALIZED;
  s.finding = false;
  s.found.clear();
  return CKR_OK;
}

CK_RV Module::get_attribute_value(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE object,
                                  CK_ATTRIBUTE* templ, CK_ULONG count) {
  Session& s = session(handle, templ || !count);
  auto h = decode_handle(object);
  if (!h || h->token_index != s.token_index) return CKR_OBJECT_HANDLE_INVALID;
  if (h->kind == ObjectKind::session_secret) {
    auto secret = session_secret(h->id);
    if (!secret) return CKR_OBJECT_HANDLE_INVALID;
    return fill_attributes(
        templ, count, [&](CK_ATTRIBUTE_TYPE t) { return session_secret_attribute(**secret, t); });
  }
  Token& token = token_of(s);
  const KeySlot* k = key_slot(token, static_cast<std::uint8_t>(h->id));
  const bool exists = k && (h->kind == ObjectKind::certificate ? !k->certificate.empty()
                                                               : k->has_key() && k->public_key);
  if (!exists || (h->kind == ObjectKind::private_key && !token.user_logged_in() &&
                  !k->usable_without_login())) {
    return CKR_OBJECT_HANDLE_INVALID;
  }
  return fill_attributes(
      templ, count, [&](CK_ATTRIBUTE_TYPE t) { return token_object_attribute(*k, h->kind, t); });
}

CK_RV Module::get_object_size(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE object, CK_ULONG* size) {
  session(handle, size != nullptr);
  if (!decode_handle(object)) return CKR_OBJECT_HANDLE_INVALID;
  *size = CK_UNAVAILABLE_INFORMATION;
  return CKR_OK;
}

CK_RV Module::set_attribute_value(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE object,
                                  CK_ATTRIBUTE* templ, CK_ULONG count) {
  session(handle, templ || !count);
  if (!decode_handle(object)) return CKR_OBJECT_HANDLE_INVALID;
  return CKR_ACTION_PROHIBITED;
}

CK_RV Module::generate_random(CK_SESSION_HANDLE handle, CK_BYTE* data, CK_ULONG length) {
  Session& s = session(handle, data || !length);
  if (length == 0) return CKR_OK;
  token_of(s).run([&](card::TokenClient& c) {
    for (CK_ULONG filled = 0; filled < length;) {
      Bytes chunk = c.challenge();
      const CK_ULONG n = std::min<CK_ULONG>(chunk.size(), length - filled);
      std::copy_n(chunk.begin(), n, data + filled);
      OPENSSL_cleanse(chunk.data(), chunk.size());
      filled += n;
    }
  });
  return CKR_OK;
}

CK_RV Module::seed_random(CK_SESSION_HANDLE handle, const CK_BYTE* data, CK_ULONG length) {
  session(handle, data || !length);
  return CKR_RANDOM_SEED_NOT_SUPPORTED;
}

// Certificates only: the PIV object of the slot named by CKA_ID, or of the key whose public
// key the certificate carries. SUBJECT, ISSUER and SERIAL_NUMBER always come from the DER,
// whatever the template says (libp11 writes no serial number, and NSS then hides the cert).
CK_RV Module::create_object(CK_SESSION_HANDLE handle, CK_ATTRIBUTE* templ, CK_ULONG count,
                            CK_OBJECT_HANDLE* object) {
  Session& s = session(handle, templ && object);
  auto object_class = template_ulong(templ, count, CKA_CLASS);
  if (!object_class) return CKR_TEMPLATE_INCOMPLETE;
  if (*object_class != CKO_CERTIFICATE) return CKR_TEMPLATE_INCONSISTENT;
  auto cert_type = template_ulong(templ, count, CKA_CERTIFICATE_TYPE);
  if (cert_type && *cert_type != CKC_X_509) return CKR_ATTRIBUTE_VALUE_INVALID;
  if (auto token_attr = template_bytes(templ, count, CKA_TOKEN);
      token_attr && (token_attr->size() != 1 || !(*token_attr)[0])) {
    return CKR_TEMPLATE_INCONSISTENT;  // no session certificates: everything lives on the token
  }
  auto der = template_bytes(templ, count, CKA_VALUE);
  if (!der) return CKR_TEMPLATE_INCOMPLETE;
  auto fields = parse_certificate(*der);
  if (!fields) return CKR_ATTRIBUTE_VALUE_INVALID;
  if (der->size() > protocol::kMaxCertificate) return CKR_DEVICE_MEMORY;
  if (!(s.flags & CKF_RW_SESSION)) return CKR_SESSION_READ_ONLY;
  Token& token = token_of(s);
  if (!token.user_logged_in()) return CKR_USER_NOT_LOGGED_IN;

  std::optional<std::uint8_t> target;
  if (auto id = template_bytes(templ, count, CKA_ID)) {
    target = slot_for_key_id(*id);
    if (!target) return CKR_ATTRIBUTE_VALUE_INVALID;
  } else {
    for (const KeySlot& k : key_slots(token)) {
      if (k.has_key() && same_public_key(k, fields->spki)) target = k.piv_slot;
    }
    if (!target) return CKR_TEMPLATE_INCOMPLETE;  // no CKA_ID and no key it belongs to
  }
  token.run([&](card::TokenClient& c) {
    authenticate_management(c);
    c.write_object(protocol::certificate_object_for_slot(*target), certificate_object(*der));
  });
  token.note_own_write({*target});
  *object = encode_handle({s.token_index, ObjectKind::certificate, *target});
  return CKR_OK;
}

CK_RV Module::destroy_object(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE object) {
  Session& s = session(handle);
  auto h = decode_handle(object);
  if (!h || h->token_index != s.token_index) return CKR_OBJECT_HANDLE_INVALID;
  if (h->kind == ObjectKind::session_secret) {
    return secrets_.erase(h->id) ? CKR_OK : CKR_OBJECT_HANDLE_INVALID;
  }
  if (!(s.flags & CKF_RW_SESSION)) return CKR_SESSION_READ_ONLY;
  Token& token = token_of(s);
  if (!token.user_logged_in()) return CKR_USER_NOT_LOGGED_IN;
  const KeySlot* k = key_slot(token, static_cast<std::uint8_t>(h->id));
  // A PIV key pair goes with its private key. Its public key cannot go alone, but once the
  // private key is destroyed, destroying the public key finds nothing left to do.
  if (h->kind == ObjectKind::public_key) return k && k->has_key() ? CKR_ACTION_PROHIBITED : CKR_OK;
  if (!k || (h->kind == ObjectKind::certificate ? k->certificate.empty() : !k->has_key())) {
    return CKR_OBJECT_HANDLE_INVALID;
  }
  const std::uint8_t piv_slot = k->piv_slot;
  token.run([&](card::TokenClient& c) {
    authenticate_management(c);
    if (h->kind == ObjectKind::certificate) {
      c.write_object(protocol::certificate_object_for_slot(piv_slot), {});
    } else {
      c.delete_key(piv_slot);
    }
  });
  token.note_own_write({piv_slot});
  return CKR_OK;
}

CK_RV Module::generate_key_pair(CK_SESSION_HANDLE handle, CK_MECHANISM* mechanism,
                                CK_ATTRIBUTE* pub, CK_ULONG pub_count, CK_ATTRIBUTE* priv,
                                CK_ULONG priv_count, CK_OBJECT_HANDLE* public_key,
                                CK_OBJECT_HANDLE* private_key) {
  Session& s = session(
      handle,
      mechanism && public_key && private_key && (pub || !pub_count) && (priv || !priv_count),
      mechanism && (mechanism->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN ||
                    mechanism->mechanism == CKM_EC_KEY_PAIR_GEN));
  Algorithm algorithm;
  if (mechanism->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN) {
    auto bits = template_ulong(pub, pub_count, CKA_MODULUS_BITS);
    if (!bits) return CKR_TEMPLATE_INCOMPLETE;
    if (*bits != 2048) return CKR_KEY_SIZE_RANGE;
    auto exponent = template_bytes(pub, pub_count, CKA_PUBLIC_EXPONENT);
    while (exponent && exponent->size() > 3 && exponent->front() == 0)
      exponent->erase(exponent->begin());
    if (exponent && *exponent != Bytes{0x01, 0x00, 0x01})
      return CKR_ATTRIBUTE_VALUE_INVALID;  // 65537 only
    algorithm = Algorithm::rsa2048;
  } else {  // CKM_EC_KEY_PAIR_GEN, the only other one session() let through
    auto params = template_bytes(pub, pub_count, CKA_EC_PARAMS);
    if (!params) return CKR_TEMPLATE_INCOMPLETE;
    auto curve = curve_from_params(*params);
    if (!curve) return CKR_CURVE_NOT_SUPPORTED;
    algorithm = static_cast<Algorithm>(*curve);
  }
  // Keys live on the token: a template without CKA_TOKEN asks for a session object, its
  // default (PKCS#11 3.0 §4.4), which a PIV token cannot hold (docs/pkcs11.md 11.1).
  for (auto [t, n] : {std::pair{pub, pub_count}, std::pair{priv, priv_count}}) {
    auto on_token = template_bytes(t, n, CKA_TOKEN);
    if (!on_token || on_token->size() != 1 || !(*on_token)[0]) return CKR_TEMPLATE_INCONSISTENT;
  }
  if (!(s.flags & CKF_RW_SESSION)) return CKR_SESSION_READ_ONLY;
  Token& token = token_of(s);
  if (!token.user_logged_in()) return CKR_USER_NOT_LOGGED_IN;

  std::optional<std::uint8_t> target;
  auto id = template_bytes(priv, priv_count, CKA_ID);
  if (!id) id = template_bytes(pub, pub_count, CKA_ID);
  if (id) {
    target = slot_for_key_id(*id);
    if (!target) return CKR_ATTRIBUTE_VALUE_INVALID;
  } else {
    const auto& slots = key_slots(token);
    for (std::uint8_t candidate : key_slot_order()) {
      auto taken = std::any_of(slots.begin(), slots.end(),
                               [&](const KeySlot& k) { return k.piv_slot == candidate; });
      if (!taken) {
        target = candidate;
        break;
      }
    }
    if (!target) return CKR_DEVICE_MEMORY;  // every key slot is in use
  }
  token.run([&](card::TokenClient& c) {
    authenticate_management(c);
    c.generate_key(*target, algorithm);
  });
  token.note_own_write({*target});
  *public_key = encode_handle({s.token_index, ObjectKind::public_key, *target});
  *private_key = encode_handle({s.token_index, ObjectKind::private_key, *target});
  return CKR_OK;
}

}  // namespace certkey::p11
