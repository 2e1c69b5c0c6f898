#include "public_key_ops.hpp"

#include <certkey/card/openssl_ptr.hpp>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

namespace certkey::p11 {
namespace {

using card::EcdsaSigPtr;
using card::PkeyCtxPtr;
using card::PkeyPtr;

PkeyPtr to_pkey(const PublicKeyParts& key) {
  const Bytes spki =
      key.is_rsa ? rsa_spki(key.modulus, key.exponent) : ec_spki(key.curve, key.point);
  const unsigned char* p = spki.data();
  return PkeyPtr(spki.empty() ? nullptr : d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
}

PkeyCtxPtr context_for(const PublicKeyParts& key) {
  PkeyPtr pkey = to_pkey(key);
  return PkeyCtxPtr(pkey ? EVP_PKEY_CTX_new(pkey.get(), nullptr) : nullptr);
}

bool set_padding(EVP_PKEY_CTX* ctx, const PublicKeyOperation& op) {
  switch (op.padding) {
    case RsaPadding::pkcs1: return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    case RsaPadding::raw: return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) > 0;
    case RsaPadding::pss:
      return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(ctx, evp_md(op.hash)) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, evp_md(op.mgf1)) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, static_cast<int>(op.salt_length)) > 0;
    case RsaPadding::oaep: {
      if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
          EVP_PKEY_CTX_set_rsa_oaep_md(ctx, evp_md(op.hash)) <= 0 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, evp_md(op.mgf1)) <= 0) {
        return false;
      }
      if (op.label.empty()) return true;
      // OpenSSL takes ownership of the label's copy.
      auto* label = static_cast<unsigned char*>(OPENSSL_memdup(op.label.data(), op.label.size()));
      if (label &&
          EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, static_cast<int>(op.label.size())) > 0)
        return true;
      OPENSSL_free(label);
      return false;
    }
  }
  return false;
}

// r || s to the DER SEQUENCE OpenSSL verifies.
std::optional<Bytes> ecdsa_raw_to_der(const Bytes& raw) {
  const int half = static_cast<int>(raw.size() / 2);
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), half, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + half, half, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int length = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (length <= 0) return std::nullopt;
  Bytes der(static_cast<std::size_t>(length));
  unsigned char* out = der.data();
  i2d_ECDSA_SIG(sig.get(), &out);
  return der;
}

}  // namespace

std::optional<bool> verify_signature(const PublicKeyParts& key, const PublicKeyOperation& op,
                                     const Bytes& input, const Bytes& signature) {
  PkeyCtxPtr ctx = context_for(key);
  if (!ctx) return std::nullopt;
  if (!key.is_rsa) {
    std::optional<Bytes> der = ecdsa_raw_to_der(signature);
    if (!der) return false;
    if (EVP_PKEY_verify_init(ctx.get()) <= 0) return std::nullopt;
    return EVP_PKEY_verify(ctx.get(), der->data(), der->size(), input.data(), input.size()) == 1;
  }
  if (op.padding == RsaPadding::pss) {
    if (EVP_PKEY_verify_init(ctx.get()) <= 0 || !set_padding(ctx.get(), op)) return std::nullopt;
    return EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), input.data(),
                           input.size()) == 1;
  }
  // PKCS#1 v1.5 over caller-supplied data, and raw RSA: recover the block and compare.
  if (EVP_PKEY_verify_recover_init(ctx.get()) <= 0 || !set_padding(ctx.get(), op))
    return std::nullopt;
  Bytes recovered(static_cast<std::size_t>(EVP_PKEY_get_size(EVP_PKEY_CTX_get0_pkey(ctx.get()))));
  std::size_t length = recovered.size();
  if (EVP_PKEY_verify_recover(ctx.get(), recovered.data(), &length, signature.data(),
                              signature.size()) != 1) {
    return false;
  }
  recovered.resize(length);
  if (op.padding == RsaPadding::raw) {
    Bytes expected(recovered.size() > input.size() ? recovered.size() - input.size() : 0, 0);
    expected.insert(expected.end(), input.begin(), input.end());
    return expected == recovered;
  }
  return recovered == input;
}

std::size_t rsa_encrypt_capacity(const PublicKeyOperation& op, std::size_t modulus_bytes) {
  switch (op.padding) {
    case RsaPadding::pkcs1: return modulus_bytes - 11;  // RFC 8017 section 7.2.1
    case RsaPadding::oaep: {
      const std::size_t h = hash_length(op.hash);
      return modulus_bytes > 2 * h + 2 ? modulus_bytes - 2 * h - 2 : 0;  // section 7.1.1
    }
    case RsaPadding::raw: return modulus_bytes;
    case RsaPadding::pss: break;
  }
  return 0;
}

std::optional<Bytes> rsa_encrypt(const PublicKeyParts& key, const PublicKeyOperation& op,
                                 const Bytes& data) {
  if (!key.is_rsa) return std::nullopt;
  PkeyCtxPtr ctx = context_for(key);
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 || !set_padding(ctx.get(), op))
    return std::nullopt;
  const auto modulus_bytes =
      static_cast<std::size_t>(EVP_PKEY_get_size(EVP_PKEY_CTX_get0_pkey(ctx.get())));
  if (data.size() > rsa_encrypt_capacity(op, modulus_bytes)) return std::nullopt;
  Bytes input = data;
  if (op.padding == RsaPadding::raw) input.insert(input.begin(), modulus_bytes - data.size(), 0);
  Bytes out(modulus_bytes);
  std::size_t length = out.size();
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &length, input.data(), input.size()) != 1)
    return std::nullopt;
  out.resize(length);
  return out;
}

}  // namespace certkey::p11
