// The mechanisms' parameters as the module reads them, shared by the token operations
// (module_crypto.cpp) and the software ones (module_software.cpp).
#pragma once
#include <optional>

#include "encoding.hpp"
#include "pkcs11.hpp"

namespace certkey::p11 {

struct MechanismKind {
  bool rsa;   // needs an RSA key (else EC)
  Hash hash;  // the mechanism hashes the data itself (none: the caller did)
  bool pss = false;
};

inline std::optional<MechanismKind> sign_mechanism(CK_MECHANISM_TYPE m) {
  switch (m) {
    case CKM_RSA_PKCS:
    case CKM_RSA_X_509: return MechanismKind{true, Hash::none};
    case CKM_RSA_PKCS_PSS: return MechanismKind{true, Hash::none, true};
    case CKM_SHA1_RSA_PKCS: return MechanismKind{true, Hash::sha1};
    case CKM_SHA224_RSA_PKCS: return MechanismKind{true, Hash::sha224};
    case CKM_SHA256_RSA_PKCS: return MechanismKind{true, Hash::sha256};
    case CKM_SHA384_RSA_PKCS: return MechanismKind{true, Hash::sha384};
    case CKM_SHA512_RSA_PKCS: return MechanismKind{true, Hash::sha512};
    case CKM_SHA1_RSA_PKCS_PSS: return MechanismKind{true, Hash::sha1, true};
    case CKM_SHA224_RSA_PKCS_PSS: return MechanismKind{true, Hash::sha224, true};
    case CKM_SHA256_RSA_PKCS_PSS: return MechanismKind{true, Hash::sha256, true};
    case CKM_SHA384_RSA_PKCS_PSS: return MechanismKind{true, Hash::sha384, true};
    case CKM_SHA512_RSA_PKCS_PSS: return MechanismKind{true, Hash::sha512, true};
    case CKM_ECDSA: return MechanismKind{false, Hash::none};
    case CKM_ECDSA_SHA1: return MechanismKind{false, Hash::sha1};
    case CKM_ECDSA_SHA224: return MechanismKind{false, Hash::sha224};
    case CKM_ECDSA_SHA256: return MechanismKind{false, Hash::sha256};
    case CKM_ECDSA_SHA384: return MechanismKind{false, Hash::sha384};
    case CKM_ECDSA_SHA512: return MechanismKind{false, Hash::sha512};
    default: return std::nullopt;
  }
}

inline std::optional<Hash> hash_of(CK_MECHANISM_TYPE m) {
  switch (m) {
    case CKM_SHA_1: return Hash::sha1;
    case CKM_SHA224: return Hash::sha224;
    case CKM_SHA256: return Hash::sha256;
    case CKM_SHA384: return Hash::sha384;
    case CKM_SHA512: return Hash::sha512;
    default: return std::nullopt;
  }
}

inline std::optional<Hash> mgf_hash(CK_RSA_PKCS_MGF_TYPE mgf) {
  switch (mgf) {
    case CKG_MGF1_SHA1: return Hash::sha1;
    case CKG_MGF1_SHA224: return Hash::sha224;
    case CKG_MGF1_SHA256: return Hash::sha256;
    case CKG_MGF1_SHA384: return Hash::sha384;
    case CKG_MGF1_SHA512: return Hash::sha512;
    default: return std::nullopt;
  }
}

template <typename Params>
const Params* params_of(const CK_MECHANISM* m) {
  return m->pParameter && m->ulParameterLen == sizeof(Params)
             ? static_cast<const Params*>(m->pParameter)
             : nullptr;
}

// The RSA encryption mechanisms: decryption on the token (docs/pkcs11.md 9.4), encryption in
// software (9.7).
inline bool rsa_encryption_mechanism(CK_MECHANISM_TYPE m) {
  return m == CKM_RSA_PKCS || m == CKM_RSA_X_509 || m == CKM_RSA_PKCS_OAEP;
}

// CK_RSA_PKCS_PSS_PARAMS of a PSS mechanism; `mechanism_hash` is its own hash (none for
// CKM_RSA_PKCS_PSS), which hashAlg must name. Nothing when they are invalid.
struct PssParams {
  Hash hash, mgf1;
  std::size_t salt_length;
};
inline std::optional<PssParams> pss_params(const CK_MECHANISM* m, Hash mechanism_hash,
                                           std::size_t longest_salt) {
  const auto* p = params_of<CK_RSA_PKCS_PSS_PARAMS>(m);
  auto hash = p ? hash_of(p->hashAlg) : std::nullopt;
  auto mgf = p ? mgf_hash(p->mgf) : std::nullopt;
  if (!hash || !mgf || (mechanism_hash != Hash::none && *hash != mechanism_hash) ||
      p->sLen > longest_salt) {
    return std::nullopt;
  }
  return PssParams{*hash, *mgf, p->sLen};
}

// CK_RSA_PKCS_OAEP_PARAMS; nothing when they are invalid.
struct OaepParams {
  Hash hash, mgf1;
  Bytes label;
};
inline std::optional<OaepParams> oaep_params(const CK_MECHANISM* m) {
  const auto* p = params_of<CK_RSA_PKCS_OAEP_PARAMS>(m);
  auto hash = p ? hash_of(p->hashAlg) : std::nullopt;
  auto mgf = p ? mgf_hash(p->mgf) : std::nullopt;
  if (!hash || !mgf || (p->source != 0 && p->source != CKZ_DATA_SPECIFIED) ||
      (p->ulSourceDataLen && !p->pSourceData)) {
    return std::nullopt;
  }
  const auto* label = static_cast<const std::uint8_t*>(p->pSourceData);
  return OaepParams{*hash, *mgf, Bytes(label, label + p->ulSourceDataLen)};
}

}  // namespace certkey::p11
