// C_Sign*, C_Decrypt*, C_DeriveKey. The token does the private-key step (raw RSA, ECDSA over
// a digest, ECDH); hashing and padding happen here, in encoding.cpp.
#include <certkey/card/error.hpp>
#include <openssl/crypto.h>

#include "mechanisms.hpp"
#include "module.hpp"

namespace certkey::p11 {
namespace {

using protocol::Algorithm;
constexpr std::size_t kRsaBytes = 256;

std::size_t signature_length(const Operation& op) {
  const protocol::KeyAlgorithm* row = protocol::key_algorithm(op.algorithm);
  return row ? row->signature_bytes : 0;  // an operation starts only with a key of the table
}

// The block the token signs with raw RSA, or the digest it signs with ECDSA.
Bytes token_input(const Operation& op, const Bytes& data) {
  const bool hashed = sign_mechanism(op.mechanism)->hash != Hash::none;
  if (op.algorithm != static_cast<std::uint8_t>(Algorithm::rsa2048)) {
    const std::size_t field = signature_length(op) / 2;
    Bytes digest = data;
    if (digest.size() > field) digest.resize(field);  // ECDSA uses the leftmost bits
    if (digest.empty()) throw Failure{CKR_DATA_LEN_RANGE};
    return digest;
  }
  if (op.mechanism == CKM_RSA_X_509) {
    if (data.size() > kRsaBytes) throw Failure{CKR_DATA_LEN_RANGE};
    Bytes block(kRsaBytes - data.size(), 0);
    block.insert(block.end(), data.begin(), data.end());
    return block;
  }
  std::optional<Bytes> block;
  if (sign_mechanism(op.mechanism)->pss) {
    if (data.size() != hash_length(op.hash)) throw Failure{CKR_DATA_LEN_RANGE};
    block = pss_encode(data, op.hash, op.mgf1, op.salt_length, 2048);
  } else {
    block = pkcs1_v15_sign_block(hashed ? digest_info(op.hash, data) : data, kRsaBytes);
  }
  if (!block) throw Failure{CKR_DATA_LEN_RANGE};
  return *block;
}

CK_RV token_refusal(const card::Response& r, CK_RV bad_data) {
  if (r.is(Sw::security_status_not_satisfied)) return CKR_USER_NOT_LOGGED_IN;
  if (r.is(Sw::authentication_blocked)) return CKR_PIN_LOCKED;
  if (r.is(Sw::incorrect_data)) return bad_data;
  return CKR_DEVICE_ERROR;
}

}  // namespace

const KeySlot& Module::private_key_for(Session& s, CK_OBJECT_HANDLE handle,
                                       CK_ATTRIBUTE_TYPE usage) {
  auto h = decode_handle(handle);
  if (!h || h->token_index != s.token_index || h->kind != ObjectKind::private_key)
    throw Failure{CKR_KEY_HANDLE_INVALID};
  Token& token = token_of(s);
  const KeySlot* k = key_slot(token, static_cast<std::uint8_t>(h->id));
  if (!token.user_logged_in() && !(k && k->usable_without_login()))
    throw Failure{CKR_USER_NOT_LOGGED_IN};
  if (!k || !k->has_key() || !k->public_key) throw Failure{CKR_KEY_HANDLE_INVALID};
  AttributeValue allowed = token_object_attribute(*k, ObjectKind::private_key, usage);
  if (allowed.rv != CKR_OK || allowed.bytes.empty() || !allowed.bytes[0])
    throw Failure{CKR_KEY_FUNCTION_NOT_PERMITTED};
  return *k;
}

CK_RV Module::sign_init(CK_SESSION_HANDLE handle, CK_MECHANISM* mechanism, CK_OBJECT_HANDLE key) {
  Session& s =
      session(handle, mechanism != nullptr, mechanism && sign_mechanism(mechanism->mechanism));
  if (s.operation.type != Operation::Type::none) return CKR_OPERATION_ACTIVE;
  const MechanismKind kind = *sign_mechanism(mechanism->mechanism);
  const KeySlot& k = private_key_for(s, key, CKA_SIGN);
  if (kind.rsa != k.public_key->is_rsa) return CKR_KEY_TYPE_INCONSISTENT;
  Operation op;
  op.mechanism = mechanism->mechanism;
  op.piv_slot = k.piv_slot;
  op.algorithm = k.algorithm;
  op.hash = kind.hash;
  if (kind.pss) {
    const std::optional<PssParams> p = pss_params(mechanism, kind.hash, kRsaBytes);
    if (!p) return CKR_MECHANISM_PARAM_INVALID;
    op.hash = p->hash;
    op.mgf1 = p->mgf1;
    op.salt_length = p->salt_length;
  }
  if (kind.hash != Hash::none) op.digest = std::make_unique<Digest>(kind.hash);
  op.needs_context_login = k.pin_policy == protocol::PinPolicy::always;
  op.type = Operation::Type::sign;
  s.operation = std::move(op);
  return CKR_OK;
}

CK_RV Module::sign(CK_SESSION_HANDLE handle, const CK_BYTE* data, CK_ULONG length,
                   CK_BYTE* signature, CK_ULONG* signature_length_out) {
  Session& s = session(handle, (data || !length) && signature_length_out);
  Operation& op = s.operation;
  if (op.type != Operation::Type::sign) return CKR_OPERATION_NOT_INITIALIZED;
  // A length query or a short buffer must leave the operation as it was.
  if (auto rv = length_answer(signature, signature_length_out, signature_length(op))) return *rv;
  if (op.digest) {
    op.digest->update(data, length);
  } else {
    op.buffered.assign(data, data + length);
  }
  return finish_sign(s, signature, signature_length_out);
}

CK_RV Module::sign_update(CK_SESSION_HANDLE handle, const CK_BYTE* part, CK_ULONG length) {
  Session& s = session(handle, part || !length);
  Operation& op = s.operation;
  if (op.type != Operation::Type::sign) return CKR_OPERATION_NOT_INITIALIZED;
  return op.take(part, length, kRsaBytes);  // raw input never exceeds one RSA block
}

CK_RV Module::sign_final(CK_SESSION_HANDLE handle, CK_BYTE* signature,
                         CK_ULONG* signature_length_out) {
  Session& s = session(handle, signature_length_out != nullptr);
  if (s.operation.type != Operation::Type::sign) return CKR_OPERATION_NOT_INITIALIZED;
  return finish_sign(s, signature, signature_length_out);
}

CK_RV Module::finish_sign(Session& s, CK_BYTE* signature, CK_ULONG* signature_length_out) {
  Operation& op = s.operation;
  const std::size_t needed = signature_length(op);
  if (auto rv = length_answer(signature, signature_length_out, needed)) return *rv;
  if (op.needs_context_login && !op.context_login_done) {
    s.operation.end();
    return CKR_USER_NOT_LOGGED_IN;
  }
  Operation done = std::move(s.operation);  // the operation ends here, whatever happens next
  s.operation.end();
  const Bytes message = done.digest ? done.digest->finish() : done.buffered;
  Bytes input = token_input(done, message);
  card::Response r = token_of(s).run([&](card::TokenClient& c) {
    return c.private_key_operation(done.piv_slot, static_cast<Algorithm>(done.algorithm), input);
  });
  OPENSSL_cleanse(input.data(), input.size());
  if (!r.ok()) return token_refusal(r, CKR_DATA_INVALID);
  // The token's answer is bounded before it reaches the application's buffer: an RSA result
  // is exactly one modulus long, an ECDSA one parses into exactly two field elements.
  Bytes result;
  if (done.algorithm == static_cast<std::uint8_t>(Algorithm::rsa2048)) {
    if (r.data.size() != kRsaBytes) return CKR_DEVICE_ERROR;
    result = r.data;
  } else {
    auto raw = ecdsa_der_to_raw(r.data, needed / 2);
    if (!raw || raw->size() != needed) return CKR_DEVICE_ERROR;
    result = *raw;
  }
  std::memcpy(signature, result.data(), result.size());
  *signature_length_out = result.size();
  return CKR_OK;
}

CK_RV Module::decrypt_init(CK_SESSION_HANDLE handle, CK_MECHANISM* mechanism,
                           CK_OBJECT_HANDLE key) {
  Session& s = session(handle, mechanism != nullptr,
                       mechanism && rsa_encryption_mechanism(mechanism->mechanism));
  if (s.operation.type != Operation::Type::none) return CKR_OPERATION_ACTIVE;
  const CK_MECHANISM_TYPE m = mechanism->mechanism;
  const KeySlot& k = private_key_for(s, key, CKA_DECRYPT);
  Operation op;
  op.mechanism = m;
  op.piv_slot = k.piv_slot;
  op.algorithm = k.algorithm;
  if (m == CKM_RSA_PKCS_OAEP) {
    std::optional<OaepParams> p = oaep_params(mechanism);
    if (!p) return CKR_MECHANISM_PARAM_INVALID;
    op.hash = p->hash;
    op.mgf1 = p->mgf1;
    op.label = std::move(p->label);
  }
  op.needs_context_login = k.pin_policy == protocol::PinPolicy::always;
  op.type = Operation::Type::decrypt;
  s.operation = std::move(op);
  return CKR_OK;
}

CK_RV Module::decrypt(CK_SESSION_HANDLE handle, const CK_BYTE* data, CK_ULONG length,
                      CK_BYTE* plain, CK_ULONG* plain_length) {
  Session& s = session(handle, (data || !length) && plain_length);
  Operation& op = s.operation;
  if (op.type != Operation::Type::decrypt) return CKR_OPERATION_NOT_INITIALIZED;
  if (!op.decrypted) {
    if (length != kRsaBytes) {
      s.operation.end();
      return CKR_ENCRYPTED_DATA_LEN_RANGE;
    }
    if (op.needs_context_login && !op.context_login_done) {
      s.operation.end();
      return CKR_USER_NOT_LOGGED_IN;
    }
    const Bytes cipher(data, data + length);
    card::Response r = token_of(s).run([&](card::TokenClient& c) {
      return c.private_key_operation(op.piv_slot, Algorithm::rsa2048, cipher);
    });
    if (!r.ok() || r.data.size() != kRsaBytes) {
      s.operation.end();
      return r.ok() ? CKR_DEVICE_ERROR : token_refusal(r, CKR_ENCRYPTED_DATA_INVALID);
    }
    std::optional<Bytes> message = op.mechanism == CKM_RSA_X_509 ? std::optional<Bytes>(r.data)
                                   : op.mechanism == CKM_RSA_PKCS
                                       ? pkcs1_v15_unpad_decrypt(r.data)
                                       : oaep_decode(r.data, op.hash, op.mgf1, op.label);
    OPENSSL_cleanse(r.data.data(), r.data.size());
    if (!message) {
      s.operation.end();
      return CKR_ENCRYPTED_DATA_INVALID;
    }
    op.decrypted = std::move(message);  // kept for a second call with a large enough buffer
  }
  if (!plain) {
    *plain_length = op.decrypted->size();
    return CKR_OK;
  }
  if (*plain_length < op.decrypted->size()) {
    *plain_length = op.decrypted->size();
    return CKR_BUFFER_TOO_SMALL;
  }
  std::memcpy(plain, op.decrypted->data(), op.decrypted->size());
  *plain_length = op.decrypted->size();
  s.operation.end();
  return CKR_OK;
}

CK_RV Module::derive_key(CK_SESSION_HANDLE handle, CK_MECHANISM* mechanism,
                         CK_OBJECT_HANDLE base_key, CK_ATTRIBUTE* templ, CK_ULONG count,
                         CK_OBJECT_HANDLE* key) {
  Session& s = session(handle, mechanism && key && (!count || templ),
                       mechanism && mechanism->mechanism == CKM_ECDH1_DERIVE);
  const auto* p = params_of<CK_ECDH1_DERIVE_PARAMS>(mechanism);
  if (!p || p->kdf != CKD_NULL || p->ulSharedDataLen != 0 || !p->pPublicData)
    return CKR_MECHANISM_PARAM_INVALID;
  const KeySlot& k = private_key_for(s, base_key, CKA_DERIVE);
  // C_DeriveKey has no step for a per-use PIN, so keys that demand one cannot derive.
  if (k.pin_policy == protocol::PinPolicy::always) return CKR_KEY_FUNCTION_NOT_PERMITTED;
  auto value_class = template_ulong(templ, count, CKA_CLASS);
  if (value_class && *value_class != CKO_SECRET_KEY) return CKR_TEMPLATE_INCONSISTENT;
  // The result is a plain session object: a template asking for more cannot be honoured.
  auto flag = [&](CK_ATTRIBUTE_TYPE t) {
    auto v = template_bytes(templ, count, t);
    return v && v->size() == 1 ? std::optional<bool>((*v)[0] != 0) : std::nullopt;
  };
  if (flag(CKA_SENSITIVE).value_or(false) || !flag(CKA_EXTRACTABLE).value_or(true) ||
      flag(CKA_TOKEN).value_or(false)) {
    return CKR_TEMPLATE_INCONSISTENT;
  }
  const Curve curve = k.public_key->curve;
  auto peer = unwrap_ec_point(Bytes(p->pPublicData, p->pPublicData + p->ulPublicDataLen), curve);
  if (!peer) return CKR_MECHANISM_PARAM_INVALID;
  const std::uint8_t piv_slot = k.piv_slot;
  const auto algorithm = static_cast<Algorithm>(k.algorithm);
  card::Response r =
      token_of(s).run([&](card::TokenClient& c) { return c.ecdh(piv_slot, algorithm, *peer); });
  if (!r.ok()) return token_refusal(r, CKR_MECHANISM_PARAM_INVALID);
  if (r.data.size() != field_bytes(curve)) return CKR_DEVICE_ERROR;
  // A number no living session object has (numbers wrap after a million).
  while (next_secret_ == 0 || secrets_.count(next_secret_))
    next_secret_ = (next_secret_ + 1) & kObjectIdMask;
  SessionSecret& secret = secrets_[next_secret_];
  secret.value = r.data;
  secret.session = handle;
  secret.token_index = s.token_index;
  OPENSSL_cleanse(r.data.data(), r.data.size());
  if (auto wanted = template_ulong(templ, count, CKA_VALUE_LEN)) {
    if (*wanted == 0 || *wanted > secret.value.size()) {
      secrets_.erase(next_secret_);
      return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    secret.value.resize(*wanted);
  }
  *key = encode_handle({s.token_index, ObjectKind::session_secret, next_secret_});
  next_secret_ = (next_secret_ + 1) & kObjectIdMask;
  return CKR_OK;
}

}  // namespace certkey::p11
