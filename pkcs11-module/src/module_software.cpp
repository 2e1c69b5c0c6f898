// C_Digest*, C_Verify* and C_Encrypt*: software operations with OpenSSL (docs/pkcs11.md,
// section 9.7). They send no APDU: digests need no key, and verification and RSA encryption
// use the public half of a token key, which the module already holds.
#include <openssl/crypto.h>

#include <cstring>

#include "mechanisms.hpp"
#include "module.hpp"

namespace certkey::p11 {
namespace {

constexpr std::size_t kLongestRawInput = 512;  // a raw RSA block or an ECDSA digest, with room

// Ends a digest operation with its result in `out`, which the caller made sure has room.
CK_RV hand_out_digest(Operation& op, CK_BYTE* out, CK_ULONG* out_length) {
  const Bytes result = op.digest->finish();
  op.end();
  std::memcpy(out, result.data(), result.size());
  *out_length = result.size();
  return CKR_OK;
}

std::size_t modulus_bytes(const PublicKeyParts& key) {
  std::size_t n = key.modulus.size();
  for (std::size_t i = 0; i < key.modulus.size() && key.modulus[i] == 0; ++i) --n;
  return n;
}

}  // namespace

const KeySlot& Module::public_key_for(Session& s, CK_OBJECT_HANDLE handle,
                                      CK_ATTRIBUTE_TYPE usage) {
  auto h = decode_handle(handle);
  if (!h || h->token_index != s.token_index) throw Failure{CKR_KEY_HANDLE_INVALID};
  const KeySlot* k = h->kind == ObjectKind::session_secret
                         ? nullptr
                         : key_slot(token_of(s), static_cast<std::uint8_t>(h->id));
  if (!k) throw Failure{CKR_KEY_HANDLE_INVALID};
  if (h->kind != ObjectKind::public_key) throw Failure{CKR_KEY_FUNCTION_NOT_PERMITTED};
  if (!k->has_key() || !k->public_key) throw Failure{CKR_KEY_HANDLE_INVALID};
  const AttributeValue allowed = token_object_attribute(*k, ObjectKind::public_key, usage);
  if (allowed.rv != CKR_OK || allowed.bytes.empty() || !allowed.bytes[0])
    throw Failure{CKR_KEY_FUNCTION_NOT_PERMITTED};
  return *k;
}

// ---- digest ----------------------------------------------------------------------------------

CK_RV Module::digest_init(CK_SESSION_HANDLE handle, CK_MECHANISM* mechanism) {
  Session& s = session(handle, mechanism != nullptr, mechanism && hash_of(mechanism->mechanism));
  if (s.operation.type != Operation::Type::none) return CKR_OPERATION_ACTIVE;
  const Hash hash = *hash_of(mechanism->mechanism);
  if (mechanism->pParameter || mechanism->ulParameterLen) return CKR_MECHANISM_PARAM_INVALID;
  Operation op;
  op.mechanism = mechanism->mechanism;
  op.hash = hash;
  op.digest = std::make_unique<Digest>(hash);
  op.type = Operation::Type::digest;
  s.operation = std::move(op);
  return CKR_OK;
}

CK_RV Module::digest(CK_SESSION_HANDLE handle, const CK_BYTE* data, CK_ULONG length, CK_BYTE* out,
                     CK_ULONG* out_length) {
  Session& s = session(handle, (data || !length) && out_length);
  if (s.operation.type != Operation::Type::digest) return CKR_OPERATION_NOT_INITIALIZED;
  // Nothing is hashed until the result can be handed out.
  if (auto rv = length_answer(out, out_length, hash_length(s.operation.hash))) return *rv;
  s.operation.digest->update(data, length);
  return hand_out_digest(s.operation, out, out_length);
}

CK_RV Module::digest_update(CK_SESSION_HANDLE handle, const CK_BYTE* part, CK_ULONG length) {
  Session& s = session(handle, part || !length);
  if (s.operation.type != Operation::Type::digest) return CKR_OPERATION_NOT_INITIALIZED;
  s.operation.digest->update(part, length);
  return CKR_OK;
}

// Only secret keys can be digested: the ECDH results, whose value the session holds.
CK_RV Module::digest_key(CK_SESSION_HANDLE handle, CK_OBJECT_HANDLE key) {
  Session& s = session(handle);
  if (s.operation.type != Operation::Type::digest) return CKR_OPERATION_NOT_INITIALIZED;
  auto h = decode_handle(key);
  if (!h || h->token_index != s.token_index) return CKR_KEY_HANDLE_INVALID;
  if (h->kind != ObjectKind::session_secret) {
    return key_slot(token_of(s), static_cast<std::uint8_t>(h->id)) ? CKR_KEY_INDIGESTIBLE
                                                                   : CKR_KEY_HANDLE_INVALID;
  }
  std::optional<SessionSecret*> secret = session_secret(h->id);
  if (!secret) return CKR_KEY_HANDLE_INVALID;
  s.operation.digest->update((*secret)->value.data(), (*secret)->value.size());
  return CKR_OK;
}

CK_RV Module::digest_final(CK_SESSION_HANDLE handle, CK_BYTE* out, CK_ULONG* out_length) {
  Session& s = session(handle, out_length != nullptr);
  if (s.operation.type != Operation::Type::digest) return CKR_OPERATION_NOT_INITIALIZED;
  if (auto rv = length_answer(out, out_length, hash_length(s.operation.hash))) return *rv;
  return hand_out_digest(s.operation, out, out_length);
}

// ---- verify ----------------------------------------------------------------------------------

CK_RV Module::verify_init(CK_SESSION_HANDLE handle, CK_MECHANISM* mechanism, CK_OBJECT_HANDLE key) {
  Session& s =
      session(handle, mechanism != nullptr, mechanism && sign_mechanism(mechanism->mechanism));
  if (s.operation.type != Operation::Type::none) return CKR_OPERATION_ACTIVE;
  const MechanismKind kind = *sign_mechanism(mechanism->mechanism);
  const KeySlot& k = public_key_for(s, key, CKA_VERIFY);
  if (kind.rsa != k.public_key->is_rsa) return CKR_KEY_TYPE_INCONSISTENT;
  Operation op;
  op.mechanism = mechanism->mechanism;
  op.hash = kind.hash;
  op.software.padding = mechanism->mechanism == CKM_RSA_X_509 ? RsaPadding::raw : RsaPadding::pkcs1;
  if (kind.pss) {
    const std::optional<PssParams> p =
        pss_params(mechanism, kind.hash, modulus_bytes(*k.public_key));
    if (!p) return CKR_MECHANISM_PARAM_INVALID;
    op.software = {RsaPadding::pss, p->hash, p->mgf1, p->salt_length, {}};
  }
  if (kind.hash != Hash::none) op.digest = std::make_unique<Digest>(kind.hash);
  op.public_key = k.public_key;
  op.type = Operation::Type::verify;
  s.operation = std::move(op);
  return CKR_OK;
}

CK_RV Module::verify(CK_SESSION_HANDLE handle, const CK_BYTE* data, CK_ULONG length,
                     const CK_BYTE* signature, CK_ULONG signature_length) {
  Session& s = session(handle, (data || !length) && (signature || !signature_length));
  if (s.operation.type != Operation::Type::verify) return CKR_OPERATION_NOT_INITIALIZED;
  const CK_RV rv = s.operation.take(data, length, kLongestRawInput);
  return rv != CKR_OK ? rv : finish_verify(s, signature, signature_length);
}

CK_RV Module::verify_update(CK_SESSION_HANDLE handle, const CK_BYTE* part, CK_ULONG length) {
  Session& s = session(handle, part || !length);
  if (s.operation.type != Operation::Type::verify) return CKR_OPERATION_NOT_INITIALIZED;
  return s.operation.take(part, length, kLongestRawInput);
}

CK_RV Module::verify_final(CK_SESSION_HANDLE handle, const CK_BYTE* signature,
                           CK_ULONG signature_length) {
  Session& s = session(handle, signature || !signature_length);
  if (s.operation.type != Operation::Type::verify) return CKR_OPERATION_NOT_INITIALIZED;
  return finish_verify(s, signature, signature_length);
}

// Ends the verification, whatever its outcome (PKCS#11 3.0 section 5.13).
CK_RV Module::finish_verify(Session& s, const CK_BYTE* signature, CK_ULONG signature_length) {
  Operation op = std::move(s.operation);
  s.operation.end();
  const PublicKeyParts& key = *op.public_key;
  const std::size_t expected = key.is_rsa ? modulus_bytes(key) : 2 * field_bytes(key.curve);
  if (signature_length != expected) return CKR_SIGNATURE_LEN_RANGE;
  const Bytes message = op.digest ? op.digest->finish() : op.buffered;
  Bytes input = message;
  if (op.software.padding == RsaPadding::pss) {
    if (message.size() != hash_length(op.software.hash)) return CKR_DATA_LEN_RANGE;
  } else if (key.is_rsa && op.hash != Hash::none) {
    input = digest_info(op.hash, message);
  } else if (input.empty() || (key.is_rsa && input.size() > expected)) {
    return CKR_DATA_LEN_RANGE;
  }
  const std::optional<bool> valid =
      verify_signature(key, op.software, input, Bytes(signature, signature + signature_length));
  if (!valid) return CKR_DEVICE_ERROR;  // the token's public key does not load
  return *valid ? CKR_OK : CKR_SIGNATURE_INVALID;
}

// ---- encrypt ---------------------------------------------------------------------------------

CK_RV Module::encrypt_init(CK_SESSION_HANDLE handle, CK_MECHANISM* mechanism,
                           CK_OBJECT_HANDLE key) {
  Session& s = session(handle, mechanism != nullptr,
                       mechanism && rsa_encryption_mechanism(mechanism->mechanism));
  if (s.operation.type != Operation::Type::none) return CKR_OPERATION_ACTIVE;
  const CK_MECHANISM_TYPE m = mechanism->mechanism;
  const KeySlot& k = public_key_for(s, key, CKA_ENCRYPT);
  Operation op;
  op.mechanism = m;
  op.software.padding = m == CKM_RSA_X_509 ? RsaPadding::raw : RsaPadding::pkcs1;
  if (m == CKM_RSA_PKCS_OAEP) {
    std::optional<OaepParams> p = oaep_params(mechanism);
    if (!p) return CKR_MECHANISM_PARAM_INVALID;
    op.software = {RsaPadding::oaep, p->hash, p->mgf1, 0, std::move(p->label)};
  }
  op.public_key = k.public_key;
  op.type = Operation::Type::encrypt;
  s.operation = std::move(op);
  return CKR_OK;
}

CK_RV Module::encrypt(CK_SESSION_HANDLE handle, const CK_BYTE* data, CK_ULONG length, CK_BYTE* out,
                      CK_ULONG* out_length) {
  Session& s = session(handle, (data || !length) && out_length);
  Operation& op = s.operation;
  if (op.type != Operation::Type::encrypt) return CKR_OPERATION_NOT_INITIALIZED;
  // A query: the input is not taken.
  if (auto rv = length_answer(out, out_length, modulus_bytes(*op.public_key))) return *rv;
  op.buffered.assign(data, data + length);
  return finish_encrypt(s, out, out_length);
}

// The input is collected; the cipher text comes at C_EncryptFinal (one RSA block).
CK_RV Module::encrypt_update(CK_SESSION_HANDLE handle, const CK_BYTE* part, CK_ULONG length,
                             CK_BYTE*, CK_ULONG* out_length) {
  Session& s = session(handle, (part || !length) && out_length);
  Operation& op = s.operation;
  if (op.type != Operation::Type::encrypt) return CKR_OPERATION_NOT_INITIALIZED;
  if (op.buffered.size() + length >
      rsa_encrypt_capacity(op.software, modulus_bytes(*op.public_key))) {
    op.end();
    return CKR_DATA_LEN_RANGE;
  }
  op.buffered.insert(op.buffered.end(), part, part + length);
  *out_length = 0;
  return CKR_OK;
}

CK_RV Module::encrypt_final(CK_SESSION_HANDLE handle, CK_BYTE* out, CK_ULONG* out_length) {
  Session& s = session(handle, out_length != nullptr);
  if (s.operation.type != Operation::Type::encrypt) return CKR_OPERATION_NOT_INITIALIZED;
  if (auto rv = length_answer(out, out_length, modulus_bytes(*s.operation.public_key))) return *rv;
  return finish_encrypt(s, out, out_length);
}

CK_RV Module::finish_encrypt(Session& s, CK_BYTE* out, CK_ULONG* out_length) {
  Operation op = std::move(s.operation);
  s.operation.end();
  const PublicKeyParts& key = *op.public_key;
  if (op.buffered.size() > rsa_encrypt_capacity(op.software, modulus_bytes(key)))
    return CKR_DATA_LEN_RANGE;
  std::optional<Bytes> cipher = rsa_encrypt(key, op.software, op.buffered);
  // Raw RSA refuses a block not below the modulus; the other paddings always fit here.
  if (!cipher) return op.software.padding == RsaPadding::raw ? CKR_DATA_INVALID : CKR_DEVICE_ERROR;
  std::memcpy(out, cipher->data(), cipher->size());  // the callers checked the room for one block
  *out_length = cipher->size();
  return CKR_OK;
}

}  // namespace certkey::p11
