#include "openssl_crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <memory>

namespace certkey::agent::host {
namespace {

struct BnFree {
  void operator()(BIGNUM* b) const { BN_clear_free(b); }
};
struct CtxFree {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using Bn = std::unique_ptr<BIGNUM, BnFree>;
using BnCtx = std::unique_ptr<BN_CTX, CtxFree>;
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

Bn bn(const std::uint8_t* p, std::size_t n) {
  Bn b(BN_bin2bn(p, static_cast<int>(n), nullptr));
  if (b) BN_set_flags(b.get(), BN_FLG_CONSTTIME);
  return b;
}
bool put(const BIGNUM* b, std::uint8_t* out, std::size_t n) {
  return b && BN_bn2binpad(b, out, static_cast<int>(n)) == static_cast<int>(n);
}
bool get_bn(EVP_PKEY* key, const char* name, std::uint8_t* out, std::size_t n) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return false;
  Bn b(raw);
  return put(b.get(), out, n);
}
const char* group_name(hal::Curve c) { return c == hal::Curve::p256 ? "P-256" : "P-384"; }

// An EVP_PKEY for an EC key pair (or only a public point when d is null).
Pkey ec_pkey(hal::Curve curve, const std::uint8_t* d, const std::uint8_t* point) {
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  Bn priv = d ? bn(d, hal::scalar_size(curve)) : nullptr;
  if (!bld || (d && !priv) ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name(curve),
                                       0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                        hal::point_size(curve)) ||
      (d && !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()))) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    return nullptr;
  }
  return Pkey(key);
}

bool ec_public_point(EVP_PKEY* key, hal::Curve curve, std::uint8_t* point) {
  std::size_t length = 0;
  return EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point,
                                         hal::point_size(curve), &length) == 1 &&
         length == hal::point_size(curve) && point[0] == 0x04;
}

const char* cipher_name(hal::BlockCipher c) {
  switch (c) {
    case hal::BlockCipher::tdes: return "DES-EDE3-ECB";
    case hal::BlockCipher::aes128: return "AES-128-ECB";
    case hal::BlockCipher::aes192: return "AES-192-ECB";
    case hal::BlockCipher::aes256: break;
  }
  return "AES-256-ECB";
}

bool one_block(hal::BlockCipher cipher, Bytes key, Bytes in, MutableBytes out, int encrypt) {
  const std::size_t bs = hal::block_size(cipher);
  if (key.size() != hal::key_size(cipher) || in.size() != bs || out.size() < bs) return false;
  EVP_CIPHER* algorithm = EVP_CIPHER_fetch(nullptr, cipher_name(cipher), nullptr);
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  bool ok = algorithm && ctx &&
            EVP_CipherInit_ex2(ctx.get(), algorithm, key.data(), nullptr, encrypt, nullptr) == 1 &&
            EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
            EVP_CipherUpdate(ctx.get(), out.data(), &n, in.data(), static_cast<int>(bs)) == 1 &&
            static_cast<std::size_t>(n) == bs;
  EVP_CIPHER_free(algorithm);
  return ok;
}

}  // namespace

int OpenSslCrypto::on_keygen_progress(EVP_PKEY_CTX* ctx) {
  auto* self = static_cast<OpenSslCrypto*>(EVP_PKEY_CTX_get_app_data(ctx));
  if (self && self->progress_) self->progress_(self->progress_context_);
  return 1;  // go on
}

bool OpenSslCrypto::rsa_generate(hal::RsaPrivateKey& out) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* generated = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) != 1) {
    return false;
  }
  EVP_PKEY_CTX_set_app_data(ctx.get(), this);
  EVP_PKEY_CTX_set_cb(ctx.get(), on_keygen_progress);
  if (EVP_PKEY_generate(ctx.get(), &generated) != 1) return false;
  Pkey key(generated);
  const std::size_t half = hal::kRsaHalfBytes;
  return key && get_bn(key.get(), OSSL_PKEY_PARAM_RSA_N, out.n, hal::kRsaMaxBytes) &&
         get_bn(key.get(), OSSL_PKEY_PARAM_RSA_E, out.e, sizeof out.e) &&
         get_bn(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, out.p, half) &&
         get_bn(key.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, out.q, half) &&
         get_bn(key.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, out.dp, half) &&
         get_bn(key.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, out.dq, half) &&
         get_bn(key.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, out.qinv, half);
}

bool OpenSslCrypto::rsa_complete(hal::RsaPrivateKey& key) {
  const std::size_t half = hal::kRsaHalfBytes;
  BnCtx ctx(BN_CTX_new());
  Bn p = bn(key.p, half), q = bn(key.q, half), dp = bn(key.dp, half), dq = bn(key.dq, half),
     qinv = bn(key.qinv, half);
  Bn n(BN_new()), e(BN_new()), t(BN_new()), p1(BN_new()), q1(BN_new());
  if (!ctx || !p || !q || !dp || !dq || !qinv || !n || !e || !t || !p1 || !q1) return false;
  // Consistency: e*dp = 1 mod p-1, e*dq = 1 mod q-1, qinv*q = 1 mod p, |n| = 2048 bits.
  bool ok = BN_set_word(e.get(), 65537) && BN_mul(n.get(), p.get(), q.get(), ctx.get()) &&
            BN_num_bits(n.get()) == 2048 && BN_sub(p1.get(), p.get(), BN_value_one()) &&
            BN_sub(q1.get(), q.get(), BN_value_one()) &&
            BN_mod_mul(t.get(), e.get(), dp.get(), p1.get(), ctx.get()) && BN_is_one(t.get()) &&
            BN_mod_mul(t.get(), e.get(), dq.get(), q1.get(), ctx.get()) && BN_is_one(t.get()) &&
            BN_mod_mul(t.get(), qinv.get(), q.get(), p.get(), ctx.get()) && BN_is_one(t.get());
  return ok && put(n.get(), key.n, hal::kRsaMaxBytes) && put(e.get(), key.e, sizeof key.e);
}

bool OpenSslCrypto::rsa_private(const hal::RsaPrivateKey& key, Bytes in, MutableBytes out) {
  const std::size_t half = hal::kRsaHalfBytes;
  if (in.size() != hal::kRsaMaxBytes || out.size() < hal::kRsaMaxBytes) return false;
  BnCtx ctx(BN_CTX_new());
  Bn c = bn(in.data(), in.size()), n = bn(key.n, hal::kRsaMaxBytes), e = bn(key.e, sizeof key.e);
  Bn p = bn(key.p, half), q = bn(key.q, half), dp = bn(key.dp, half), dq = bn(key.dq, half),
     qinv = bn(key.qinv, half);
  Bn m1(BN_new()), m2(BN_new()), h(BN_new()), m(BN_new()), check(BN_new());
  if (!ctx || !c || !n || !e || !p || !q || !dp || !dq || !qinv || !m1 || !m2 || !h || !m ||
      !check) {
    return false;
  }
  if (BN_cmp(c.get(), n.get()) >= 0) return false;
  // CRT: m1 = c^dp mod p, m2 = c^dq mod q, h = qinv (m1 - m2) mod p, m = m2 + h q.
  bool ok = BN_mod_exp_mont_consttime(m1.get(), c.get(), dp.get(), p.get(), ctx.get(), nullptr) &&
            BN_mod_exp_mont_consttime(m2.get(), c.get(), dq.get(), q.get(), ctx.get(), nullptr) &&
            BN_mod_sub(h.get(), m1.get(), m2.get(), p.get(), ctx.get()) &&
            BN_mod_mul(h.get(), h.get(), qinv.get(), p.get(), ctx.get()) &&
            BN_mul(m.get(), h.get(), q.get(), ctx.get()) && BN_add(m.get(), m.get(), m2.get()) &&
            // Verify before release: a faulty CRT result would leak a factor of n.
            BN_mod_exp(check.get(), m.get(), e.get(), n.get(), ctx.get()) &&
            BN_cmp(check.get(), c.get()) == 0;
  return ok && put(m.get(), out.data(), hal::kRsaMaxBytes);
}

bool OpenSslCrypto::ec_generate(hal::Curve curve, hal::EcPrivateKey& out) {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group_name(curve)));
  return key && get_bn(key.get(), OSSL_PKEY_PARAM_PRIV_KEY, out.d, hal::scalar_size(curve)) &&
         ec_public_point(key.get(), curve, out.point);
}

bool OpenSslCrypto::ec_complete(hal::Curve curve, hal::EcPrivateKey& key) {
  // Public point = d * G, with 0 < d < order.
  EC_GROUP* group =
      EC_GROUP_new_by_curve_name(curve == hal::Curve::p256 ? NID_X9_62_prime256v1 : NID_secp384r1);
  BnCtx ctx(BN_CTX_new());
  Bn d = bn(key.d, hal::scalar_size(curve));
  EC_POINT* point = group ? EC_POINT_new(group) : nullptr;
  bool ok = ctx && d && point && !BN_is_zero(d.get()) &&
            BN_cmp(d.get(), EC_GROUP_get0_order(group)) < 0 &&
            EC_POINT_mul(group, point, d.get(), nullptr, nullptr, ctx.get()) == 1 &&
            EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED, key.point,
                               hal::point_size(curve), ctx.get()) == hal::point_size(curve);
  EC_POINT_free(point);
  EC_GROUP_free(group);
  return ok;
}

bool OpenSslCrypto::ecdsa_sign(hal::Curve curve, const hal::EcPrivateKey& key, Bytes digest,
                               MutableBytes out, std::size_t& out_length) {
  Pkey pkey = ec_pkey(curve, key.d, key.point);
  PkeyCtx ctx(pkey ? EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr) : nullptr);
  std::size_t length = out.size();
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_sign(ctx.get(), out.data(), &length, digest.data(), digest.size()) != 1) {
    return false;
  }
  out_length = length;
  return true;
}

bool OpenSslCrypto::ecdh(hal::Curve curve, const hal::EcPrivateKey& key, Bytes peer_point,
                         MutableBytes out) {
  if (peer_point.size() != hal::point_size(curve) || out.size() < hal::scalar_size(curve))
    return false;
  Pkey pkey = ec_pkey(curve, key.d, key.point);
  Pkey peer = ec_pkey(curve, nullptr, peer_point.data());  // checks the point is on the curve
  PkeyCtx ctx(pkey ? EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr) : nullptr);
  std::size_t length = out.size();
  return peer && ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
         EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) == 1 &&
         EVP_PKEY_derive(ctx.get(), out.data(), &length) == 1 && length == hal::scalar_size(curve);
}

bool OpenSslCrypto::block_encrypt(hal::BlockCipher cipher, Bytes key, Bytes in, MutableBytes out) {
  return one_block(cipher, key, in, out, 1);
}
bool OpenSslCrypto::block_decrypt(hal::BlockCipher cipher, Bytes key, Bytes in, MutableBytes out) {
  return one_block(cipher, key, in, out, 0);
}

bool OpenSslCrypto::aes_cmac(Bytes key, Bytes message, MutableBytes out16) {
  const char* cipher = key.size() == 16   ? "AES-128-CBC"
                       : key.size() == 32 ? "AES-256-CBC"
                                          : nullptr;
  if (!cipher || out16.size() < 16) return false;
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, const_cast<char*>(cipher), 0),
      OSSL_PARAM_construct_end()};
  std::size_t length = 0;
  bool ok = ctx && EVP_MAC_init(ctx, key.data(), key.size(), params) == 1 &&
            EVP_MAC_update(ctx, message.data(), message.size()) == 1 &&
            EVP_MAC_final(ctx, out16.data(), &length, 16) == 1 && length == 16;
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  return ok;
}

void OpenSslCrypto::sha256(Bytes message, MutableBytes out32) {
  unsigned int length = 0;
  EVP_Digest(message.data(), message.size(), out32.data(), &length, EVP_sha256(), nullptr);
}

}  // namespace certkey::agent::host
