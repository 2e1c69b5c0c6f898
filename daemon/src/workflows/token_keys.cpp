#include "token_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <cstring>

#include "../core/c_free.hpp"
#include "../core/error_code.hpp"

namespace certkey::daemon {
namespace {

using pkcs11::Bytes;

// DER OIDs of the curves, as CKA_EC_PARAMS carries them.
const Bytes kP256 = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
const Bytes kP384 = {0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22};

using ParamBuild = std::unique_ptr<OSSL_PARAM_BLD, Free<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Free<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyContext = std::unique_ptr<EVP_PKEY_CTX, Free<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using BigNum = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;

PublicKey from_params(const char* type, OSSL_PARAM_BLD* build) {
  Params params(OSSL_PARAM_BLD_to_param(build));
  PkeyContext ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return PublicKey(nullptr, EVP_PKEY_free);
  }
  return PublicKey(key, EVP_PKEY_free);
}

// CKA_EC_POINT is the DER OCTET STRING around the uncompressed point.
PublicKey ec_public_key(const char* group, const Bytes& point_der) {
  if (point_der.size() < 3 || point_der[0] != 0x04 || point_der[1] + 2u != point_der.size()) {
    return PublicKey(nullptr, EVP_PKEY_free);
  }
  ParamBuild build(OSSL_PARAM_BLD_new());
  if (!build ||
      OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point_der.data() + 2,
                                       point_der.size() - 2) != 1) {
    return PublicKey(nullptr, EVP_PKEY_free);
  }
  return from_params("EC", build.get());
}

PublicKey rsa_public_key(const Bytes& modulus, const Bytes& exponent) {
  BigNum n(BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
  BigNum e(BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), nullptr));
  ParamBuild build(OSSL_PARAM_BLD_new());
  if (!n || !e || !build ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return PublicKey(nullptr, EVP_PKEY_free);
  }
  return from_params("RSA", build.get());
}

CK_ULONG ulong_attribute(pkcs11::Session& session, CK_OBJECT_HANDLE object,
                         CK_ATTRIBUTE_TYPE type) {
  const Bytes value = session.attribute(object, type);
  CK_ULONG out = 0;
  if (value.size() == sizeof out) std::memcpy(&out, value.data(), sizeof out);
  return out;
}

// The algorithm and public key of a token public key object.
bool describe(pkcs11::Session& session, TokenKey& key) {
  if (ulong_attribute(session, key.public_key, CKA_KEY_TYPE) == CKK_RSA) {
    key.algorithm = KeyAlgorithm::rsa_2048;
    key.public_value = rsa_public_key(session.attribute(key.public_key, CKA_MODULUS),
                                      session.attribute(key.public_key, CKA_PUBLIC_EXPONENT));
    return key.public_value && EVP_PKEY_get_bits(key.public_value.get()) == 2048;
  }
  const Bytes params = session.attribute(key.public_key, CKA_EC_PARAMS);
  if (params != kP256 && params != kP384) return false;
  key.algorithm = params == kP256 ? KeyAlgorithm::ec_p256 : KeyAlgorithm::ec_p384;
  key.public_value = ec_public_key(params == kP256 ? "prime256v1" : "secp384r1",
                                   session.attribute(key.public_key, CKA_EC_POINT));
  return key.public_value != nullptr;
}

}  // namespace

std::string_view algorithm_name(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::ec_p256: return "ecc-p256";
    case KeyAlgorithm::ec_p384: return "ecc-p384";
    case KeyAlgorithm::rsa_2048: return "rsa-2048";
  }
  return "";
}

std::optional<KeyAlgorithm> algorithm_from_name(std::string_view name) {
  for (KeyAlgorithm a : {KeyAlgorithm::ec_p256, KeyAlgorithm::ec_p384, KeyAlgorithm::rsa_2048}) {
    if (algorithm_name(a) == name) return a;
  }
  return std::nullopt;
}

std::optional<KeyAlgorithm> algorithm_of(EVP_PKEY* key) {
  if (!key) return std::nullopt;
  if (EVP_PKEY_is_a(key, "RSA")) {
    return EVP_PKEY_get_bits(key) == 2048 ? std::optional(KeyAlgorithm::rsa_2048) : std::nullopt;
  }
  char group[32] = {};
  std::size_t length = 0;
  if (!EVP_PKEY_is_a(key, "EC") ||
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &length) != 1) {
    return std::nullopt;
  }
  const std::string_view name(group, length);
  if (name == "prime256v1" || name == "P-256") return KeyAlgorithm::ec_p256;
  if (name == "secp384r1" || name == "P-384") return KeyAlgorithm::ec_p384;
  return std::nullopt;
}

std::optional<TokenKey> find_key(pkcs11::Session& session, const Bytes& id) {
  const std::vector<CK_OBJECT_HANDLE> publics = session.find(CKO_PUBLIC_KEY, &id);
  if (publics.empty()) return std::nullopt;
  TokenKey key;
  key.public_key = publics.front();
  if (!describe(session, key)) return std::nullopt;
  const std::vector<CK_OBJECT_HANDLE> privates = session.find(CKO_PRIVATE_KEY, &id);
  if (!privates.empty()) {
    key.private_key = privates.front();
    const Bytes always = session.attribute(key.private_key, CKA_ALWAYS_AUTHENTICATE);
    key.always_authenticate = always.size() == 1 && always[0] == CK_TRUE;
  }
  return key;
}

TokenKey generate_key(pkcs11::Session& session, const Bytes& id, KeyAlgorithm algorithm) {
  CK_BBOOL yes = CK_TRUE;
  CK_ULONG bits = 2048;
  CK_BYTE exponent[] = {0x01, 0x00, 0x01};
  const Bytes& curve = algorithm == KeyAlgorithm::ec_p384 ? kP384 : kP256;
  auto* id_bytes = const_cast<std::uint8_t*>(id.data());
  std::vector<CK_ATTRIBUTE> public_template = {{CKA_ID, id_bytes, id.size()},
                                               {CKA_TOKEN, &yes, sizeof yes}};
  if (algorithm == KeyAlgorithm::rsa_2048) {
    public_template.push_back({CKA_MODULUS_BITS, &bits, sizeof bits});
    public_template.push_back({CKA_PUBLIC_EXPONENT, exponent, sizeof exponent});
  } else {
    public_template.push_back(
        {CKA_EC_PARAMS, const_cast<std::uint8_t*>(curve.data()), curve.size()});
  }
  const pkcs11::Session::KeyPair pair = session.generate_key_pair(
      algorithm == KeyAlgorithm::rsa_2048 ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN,
      public_template,
      {{CKA_ID, id_bytes, id.size()}, {CKA_SIGN, &yes, sizeof yes}, {CKA_TOKEN, &yes, sizeof yes}});
  TokenKey key;
  key.private_key = pair.private_key;
  key.public_key = pair.public_key;
  const Bytes always = session.attribute(key.private_key, CKA_ALWAYS_AUTHENTICATE);
  key.always_authenticate = always.size() == 1 && always[0] == CK_TRUE;
  if (!describe(session, key) || key.algorithm != algorithm) {
    session.destroy(pair.private_key);
    throw ApiError(ErrorCode::token_error, "the new key pair is not what was asked for");
  }
  return key;
}

Bytes sign_message(pkcs11::Session& session, const TokenKey& key, const Bytes& message,
                   std::string_view pin) {
  const CK_MECHANISM_TYPE mechanism = key.algorithm == KeyAlgorithm::rsa_2048  ? CKM_SHA256_RSA_PKCS
                                      : key.algorithm == KeyAlgorithm::ec_p384 ? CKM_ECDSA_SHA384
                                                                               : CKM_ECDSA_SHA256;
  return session.sign(
      key.private_key, mechanism, message,
      key.always_authenticate ? std::optional<std::string_view>(pin) : std::nullopt);
}

bool holds_key(pkcs11::Session& session, const Bytes& id, EVP_PKEY* expected) {
  const std::optional<TokenKey> key = find_key(session, id);
  return key && expected && EVP_PKEY_eq(key->public_value.get(), expected) == 1;
}

}  // namespace certkey::daemon
