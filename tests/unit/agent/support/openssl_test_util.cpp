#include "openssl_test_util.hpp"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <algorithm>

namespace certkey::agent::test {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;

const char* cipher_name(protocol::Algorithm algorithm) {
  switch (algorithm) {
    case protocol::Algorithm::tdes: return "DES-EDE3-ECB";
    case protocol::Algorithm::aes128: return "AES-128-ECB";
    case protocol::Algorithm::aes192: return "AES-192-ECB";
    case protocol::Algorithm::aes256: return "AES-256-ECB";
    default: return nullptr;
  }
}

Buffer one_block(protocol::Algorithm algorithm, const Buffer& key, const Buffer& in, int encrypt) {
  const EVP_CIPHER* cipher = EVP_get_cipherbyname(cipher_name(algorithm));
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  Buffer out(in.size() + 32);
  int n = 0;
  if (!cipher || !ctx ||
      EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), nullptr, encrypt) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), out.data(), &n, in.data(), static_cast<int>(in.size())) != 1) {
    return {};
  }
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Buffer digest(const EVP_MD* md, const Buffer& message) {
  Buffer out(EVP_MAX_MD_SIZE);
  unsigned int n = 0;
  if (EVP_Digest(message.data(), message.size(), out.data(), &n, md, nullptr) != 1) return {};
  out.resize(n);
  return out;
}

}  // namespace

Buffer block_encrypt(protocol::Algorithm algorithm, const Buffer& key, const Buffer& block) {
  return one_block(algorithm, key, block, 1);
}

Buffer block_decrypt(protocol::Algorithm algorithm, const Buffer& key, const Buffer& block) {
  return one_block(algorithm, key, block, 0);
}

Buffer aes_cmac(const Buffer& key, const Buffer& message) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  std::string cipher = key.size() == 16 ? "AES-128-CBC" : "AES-256-CBC";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher.data(), 0),
                         OSSL_PARAM_construct_end()};
  Buffer out(16);
  std::size_t n = 0;
  bool ok = ctx && EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
            EVP_MAC_update(ctx, message.data(), message.size()) == 1 &&
            EVP_MAC_final(ctx, out.data(), &n, out.size()) == 1 && n == 16;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  return ok ? out : Buffer{};
}

Buffer sha256(const Buffer& message) { return digest(EVP_sha256(), message); }
Buffer sha384(const Buffer& message) { return digest(EVP_sha384(), message); }

Buffer random_bytes(std::size_t n) {
  Buffer out(n);
  if (n != 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) return {};
  return out;
}

Pkey ec_generate(const char* group) {
  return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group));
}

Pkey ec_public_key(const char* group, const Buffer& point) {
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                        point.size())) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return Pkey(key);
}

Buffer ec_point(EVP_PKEY* key) {
  Buffer out(1 + 2 * 66);
  std::size_t n = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out.data(), out.size(), &n) !=
      1) {
    return {};
  }
  out.resize(n);
  return out;
}

Buffer ec_private_scalar(EVP_PKEY* key, std::size_t size) {
  return bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, size);
}

Buffer ecdh(EVP_PKEY* own, EVP_PKEY* peer) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  std::size_t n = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &n) != 1) {
    return {};
  }
  Buffer out(n);
  if (EVP_PKEY_derive(ctx.get(), out.data(), &n) != 1) return {};
  out.resize(n);
  return out;
}

bool ecdsa_verify(EVP_PKEY* key, const Buffer& digest_bytes, const Buffer& der_signature) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_verify(ctx.get(), der_signature.data(), der_signature.size(), digest_bytes.data(),
                         digest_bytes.size()) == 1;
}

EVP_PKEY* shared_rsa_key() {
  static Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  return key.get();
}

Pkey rsa_public_key(const Buffer& modulus, const Buffer& exponent) {
  Bn n(BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
  Bn e(BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get())) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return Pkey(key);
}

Buffer bn_param(EVP_PKEY* key, const char* name, std::size_t size) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return {};
  Bn b(raw);
  Buffer out(size);
  if (BN_bn2binpad(b.get(), out.data(), static_cast<int>(size)) != static_cast<int>(size))
    return {};
  return out;
}

Buffer pkcs1_sha256_block(const Buffer& message, std::size_t size) {
  // DigestInfo prefix for SHA-256 (RFC 8017 9.2, note 1).
  static const Buffer kPrefix = {0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  Buffer hash = sha256(message);
  const std::size_t t = kPrefix.size() + hash.size();
  if (size < t + 11) return {};  // RFC 8017 9.2: at least 8 bytes of padding
  // 00 01 FF..FF 00 || DigestInfo prefix || hash
  Buffer block = {0x00, 0x01};
  block.insert(block.end(), size - t - 3, 0xFF);
  block.push_back(0x00);
  block.insert(block.end(), kPrefix.begin(), kPrefix.end());
  block.insert(block.end(), hash.begin(), hash.end());
  return block;
}

bool rsa_verify_pkcs1_sha256(EVP_PKEY* key, const Buffer& message, const Buffer& signature) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  Buffer hash = sha256(message);
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
         EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) == 1 &&
         EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), hash.data(), hash.size()) ==
             1;
}

Buffer rsa_encrypt_pkcs1(EVP_PKEY* key, const Buffer& message) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  std::size_t n = 0;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_encrypt(ctx.get(), nullptr, &n, message.data(), message.size()) != 1) {
    return {};
  }
  Buffer out(n);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &n, message.data(), message.size()) != 1) return {};
  out.resize(n);
  return out;
}

Certificate parse_certificate(const Buffer& der) {
  const unsigned char* p = der.data();
  Certificate cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  // The whole buffer must be the certificate, nothing before or after it.
  if (cert && p != der.data() + der.size()) return nullptr;
  return cert;
}

Buffer name_der(X509_NAME* name) {
  unsigned char* out = nullptr;
  int n = i2d_X509_NAME(name, &out);
  if (n <= 0) return {};
  Buffer result(out, out + n);
  OPENSSL_free(out);
  return result;
}

}  // namespace certkey::agent::test
