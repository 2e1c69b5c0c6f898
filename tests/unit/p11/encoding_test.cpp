// Unit tests of the PKCS#11 module's host-side encodings (pkcs11-module/src/encoding.hpp).
//
// Wherever OpenSSL can act as the independent party it does: our PSS and PKCS#1 v1.5 blocks
// are signed raw (no padding) with an OpenSSL key and must verify with OpenSSL's padding
// checks; OpenSSL's OAEP and PKCS#1 v1.5 encryptions, decrypted raw, must decode here; our
// DER (SPKI, certificate fields, ECDSA) must equal what OpenSSL's encoders produce.
#include "encoding.hpp"

#include <certkey/card/openssl_ptr.hpp>

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace certkey::p11 {
namespace {

using Pkey = card::PkeyPtr;
using PkeyCtx = card::PkeyCtxPtr;
using X509Ptr = card::X509Ptr;
using Bn = card::BnPtr;
using EcdsaSig = card::EcdsaSigPtr;

Bytes bytes_of(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

const char* name_of(Hash h) {
  switch (h) {
    case Hash::sha1: return "sha1";
    case Hash::sha224: return "sha224";
    case Hash::sha256: return "sha256";
    case Hash::sha384: return "sha384";
    case Hash::sha512: return "sha512";
    case Hash::none: break;
  }
  return "none";
}

// Keys are slow to make under the sanitizers: one per size for the whole run.
EVP_PKEY* rsa_key(unsigned bits) {
  static std::map<unsigned, Pkey> keys;
  auto& key = keys[bits];
  if (!key) key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  return key.get();
}

EVP_PKEY* ec_key(Curve c) {
  static std::map<Curve, Pkey> keys;
  auto& key = keys[c];
  if (!key)
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", c == Curve::p256 ? "P-256" : "P-384"));
  return key.get();
}

std::size_t modulus_bytes(EVP_PKEY* key) {
  return static_cast<std::size_t>(EVP_PKEY_get_size(key));
}

// The raw RSA private-key operation, as the token does it.
Bytes raw_sign(EVP_PKEY* key, const Bytes& input) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  std::size_t length = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &length, input.data(), input.size()) != 1) {
    return {};
  }
  Bytes out(length);
  if (EVP_PKEY_sign(ctx.get(), out.data(), &length, input.data(), input.size()) != 1) return {};
  out.resize(length);
  return out;
}

Bytes raw_decrypt(EVP_PKEY* key, const Bytes& input) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  std::size_t length = 0;
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1 ||
      EVP_PKEY_decrypt(ctx.get(), nullptr, &length, input.data(), input.size()) != 1) {
    return {};
  }
  Bytes out(length);
  if (EVP_PKEY_decrypt(ctx.get(), out.data(), &length, input.data(), input.size()) != 1) return {};
  out.resize(length);
  return out;
}

bool verify_pss(EVP_PKEY* key, const Bytes& digest_value, const Bytes& signature, Hash hash,
                Hash mgf1_hash, int salt_length) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_signature_md(ctx.get(), evp_md(hash)) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), evp_md(mgf1_hash)) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), salt_length) == 1 &&
         EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest_value.data(),
                         digest_value.size()) == 1;
}

bool verify_pkcs1(EVP_PKEY* key, const Bytes& digest_value, const Bytes& signature, Hash hash) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
         EVP_PKEY_CTX_set_signature_md(ctx.get(), evp_md(hash)) == 1 &&
         EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest_value.data(),
                         digest_value.size()) == 1;
}

Bytes encrypt(EVP_PKEY* key, const Bytes& message, int padding, Hash hash = Hash::none,
              Hash mgf1_hash = Hash::none, const Bytes& label = {}) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), padding) != 1)
    return {};
  if (padding == RSA_PKCS1_OAEP_PADDING) {
    if (EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), evp_md(hash)) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), evp_md(mgf1_hash)) != 1) {
      return {};
    }
    if (!label.empty()) {
      void* copy = OPENSSL_memdup(label.data(), label.size());
      if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), copy, static_cast<int>(label.size())) != 1) {
        OPENSSL_free(copy);
        return {};
      }
    }
  }
  std::size_t length = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &length, message.data(), message.size()) != 1) return {};
  Bytes out(length);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &length, message.data(), message.size()) != 1)
    return {};
  out.resize(length);
  return out;
}

template <typename T, typename F>
Bytes i2d_bytes(const T* object, F i2d) {
  int length = i2d(object, nullptr);
  if (length <= 0) return {};
  Bytes out(static_cast<std::size_t>(length));
  unsigned char* p = out.data();
  i2d(object, &p);
  return out;
}

Bytes i2d_pubkey(EVP_PKEY* key) { return i2d_bytes(key, i2d_PUBKEY); }

Bytes bn_bytes(EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return {};
  Bn bn(raw);
  Bytes out(static_cast<std::size_t>(BN_num_bytes(bn.get())));
  BN_bn2bin(bn.get(), out.data());
  return out;
}

Bytes ec_point_of(EVP_PKEY* key) {
  Bytes out(200);
  std::size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out.data(), out.size(),
                                      &length) != 1)
    return {};
  out.resize(length);
  return out;
}

// Test-side MGF1 and OAEP encoding, to build blocks OpenSSL would never produce.
Bytes test_mgf1(Hash h, const Bytes& seed, std::size_t length) {
  Bytes out;
  for (std::uint32_t counter = 0; out.size() < length; ++counter) {
    Bytes input = seed;
    for (int shift = 24; shift >= 0; shift -= 8)
      input.push_back(static_cast<std::uint8_t>(counter >> shift));
    Bytes block = digest(h, input);
    out.insert(out.end(), block.begin(), block.end());
  }
  out.resize(length);
  return out;
}

// EM = 00 || maskedSeed || maskedDB with DB = lHash || `db_tail` (PS || 01 || M normally).
Bytes test_oaep_block(Hash h, std::size_t k, const Bytes& label, const Bytes& db_tail) {
  const std::size_t h_length = hash_length(h);
  Bytes db = digest(h, label);
  db.insert(db.end(), db_tail.begin(), db_tail.end());
  EXPECT_EQ(db.size(), k - h_length - 1);
  Bytes seed = random_bytes(h_length);
  Bytes db_mask = test_mgf1(h, seed, db.size());
  for (std::size_t i = 0; i < db.size(); ++i) db[i] ^= db_mask[i];
  Bytes seed_mask = test_mgf1(h, db, h_length);
  for (std::size_t i = 0; i < h_length; ++i) seed[i] ^= seed_mask[i];
  Bytes em;
  em.reserve(k);
  em.push_back(0x00);
  em.insert(em.end(), seed.begin(), seed.end());
  em.insert(em.end(), db.begin(), db.end());
  return em;
}

// ---- hashing ------------------------------------------------------------------------------

TEST(Digest, KnownVectorsAndLengths) {
  EXPECT_EQ(digest(Hash::sha256, bytes_of("abc")),
            from_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  EXPECT_EQ(digest(Hash::sha1, bytes_of("abc")),
            from_hex("a9993e364706816aba3e25717850c26c9cd0d89d"));
  EXPECT_EQ(hash_length(Hash::none), 0u);
  EXPECT_EQ(hash_length(Hash::sha1), 20u);
  EXPECT_EQ(hash_length(Hash::sha224), 28u);
  EXPECT_EQ(hash_length(Hash::sha256), 32u);
  EXPECT_EQ(hash_length(Hash::sha384), 48u);
  EXPECT_EQ(hash_length(Hash::sha512), 64u);
  EXPECT_EQ(digest(Hash::none, bytes_of("abc")), bytes_of("abc"));
  EXPECT_EQ(digest(Hash::sha256, {}).size(), 32u);
}

TEST(Digest, IncrementalEqualsOneShot) {
  Bytes message = random_bytes(1000);
  for (Hash h : {Hash::none, Hash::sha1, Hash::sha224, Hash::sha256, Hash::sha384, Hash::sha512}) {
    SCOPED_TRACE(name_of(h));
    Digest d(h);
    d.update(message.data(), 1);
    d.update(message.data() + 1, 0);
    d.update(message.data() + 1, 499);
    d.update(message.data() + 500, 500);
    EXPECT_EQ(d.finish(), digest(h, message));
    // The object starts over after finish().
    d.update(message.data(), 10);
    EXPECT_EQ(d.finish(), digest(h, Bytes(message.begin(), message.begin() + 10)));
    EXPECT_EQ(d.finish(), digest(h, {}));
  }
}

TEST(DigestInfo, PrefixesAndBadInput) {
  Bytes d = digest(Hash::sha256, bytes_of("abc"));
  Bytes info = digest_info(Hash::sha256, d);
  Bytes expected = from_hex("3031300d060960864801650304020105000420");
  expected.insert(expected.end(), d.begin(), d.end());
  EXPECT_EQ(info, expected);
  EXPECT_TRUE(digest_info(Hash::none, d).empty());
  EXPECT_TRUE(digest_info(Hash::sha384, d).empty());  // wrong digest length
}

// ---- PKCS#1 v1.5 ------------------------------------------------------------------------------

TEST(Pkcs1Sign, VerifiesWithOpenSsl) {
  EVP_PKEY* key = rsa_key(2048);
  ASSERT_NE(key, nullptr);
  const std::size_t k = modulus_bytes(key);
  for (Hash h : {Hash::sha1, Hash::sha224, Hash::sha256, Hash::sha384, Hash::sha512}) {
    SCOPED_TRACE(name_of(h));
    Bytes d = digest(h, bytes_of("certkey"));
    auto block = pkcs1_v15_sign_block(digest_info(h, d), k);
    ASSERT_TRUE(block);
    ASSERT_EQ(block->size(), k);
    Bytes signature = raw_sign(key, *block);
    ASSERT_EQ(signature.size(), k);
    EXPECT_TRUE(verify_pkcs1(key, d, signature, h));
    Bytes other = digest(h, bytes_of("certkey!"));
    EXPECT_FALSE(verify_pkcs1(key, other, signature, h));
  }
}

TEST(Pkcs1Sign, BlockLayoutAndMinimumPadding) {
  Bytes t(5, 0xAB);
  auto block = pkcs1_v15_sign_block(t, 16);
  ASSERT_TRUE(block);
  EXPECT_EQ(*block, from_hex("0001ffffffffffffffff00ababababab"));
  EXPECT_TRUE(pkcs1_v15_sign_block(Bytes(245), 256));   // exactly 8 bytes of FF
  EXPECT_FALSE(pkcs1_v15_sign_block(Bytes(246), 256));  // 7 would be too few
  EXPECT_FALSE(pkcs1_v15_sign_block({}, 10));
  EXPECT_TRUE(pkcs1_v15_sign_block({}, 11));
}

TEST(Pkcs1Decrypt, UnpadsOpenSslEncryption) {
  EVP_PKEY* key = rsa_key(2048);
  ASSERT_NE(key, nullptr);
  const std::size_t k = modulus_bytes(key);
  for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{32}, k - 11}) {
    SCOPED_TRACE(length);
    Bytes message = random_bytes(length);
    Bytes ciphertext = encrypt(key, message, RSA_PKCS1_PADDING);
    ASSERT_EQ(ciphertext.size(), k);
    Bytes block = raw_decrypt(key, ciphertext);
    ASSERT_EQ(block.size(), k);
    auto out = pkcs1_v15_unpad_decrypt(block);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, message);
  }
}

TEST(Pkcs1Decrypt, RejectsMalformedBlocks) {
  auto block = [](std::uint8_t b0, std::uint8_t b1, std::size_t ps, bool separator) {
    Bytes out;
    out.reserve(ps + 6);
    out.push_back(b0);
    out.push_back(b1);
    out.insert(out.end(), ps, 0x5A);
    if (separator) out.push_back(0x00);
    out.insert(out.end(), {0x11, 0x22, 0x33});
    return out;
  };
  EXPECT_EQ(pkcs1_v15_unpad_decrypt(block(0x00, 0x02, 8, true)), from_hex("112233"));
  EXPECT_FALSE(pkcs1_v15_unpad_decrypt(block(0x00, 0x02, 7, true)));    // PS too short
  EXPECT_FALSE(pkcs1_v15_unpad_decrypt(block(0x00, 0x01, 8, true)));    // block type 1
  EXPECT_FALSE(pkcs1_v15_unpad_decrypt(block(0x01, 0x02, 8, true)));    // leading byte
  EXPECT_FALSE(pkcs1_v15_unpad_decrypt(block(0x00, 0x02, 20, false)));  // no separator
  EXPECT_FALSE(pkcs1_v15_unpad_decrypt({}));
  EXPECT_FALSE(pkcs1_v15_unpad_decrypt(from_hex("0002")));
  // A separator as the last byte: an empty message.
  Bytes empty_message = block(0x00, 0x02, 8, true);
  empty_message.resize(11);
  EXPECT_EQ(pkcs1_v15_unpad_decrypt(empty_message), Bytes{});
}

// ---- PSS ------------------------------------------------------------------------------------

TEST(PssEncode, VerifiesWithOpenSsl) {
  struct Case {
    Hash hash, mgf1;
    std::size_t salt;
  };
  const Case cases[] = {{Hash::sha256, Hash::sha256, 32}, {Hash::sha256, Hash::sha256, 0},
                        {Hash::sha1, Hash::sha1, 20},     {Hash::sha384, Hash::sha1, 48},
                        {Hash::sha512, Hash::sha256, 64}, {Hash::sha224, Hash::sha512, 5}};
  // 1025 bits: emLen is one byte shorter than the modulus; 1023: the top two bits are cleared.
  for (unsigned bits : {2048u, 1024u, 1025u, 1023u}) {
    EVP_PKEY* key = rsa_key(bits);
    ASSERT_NE(key, nullptr);
    ASSERT_EQ(static_cast<unsigned>(EVP_PKEY_get_bits(key)), bits);
    for (const Case& c : cases) {
      SCOPED_TRACE(std::to_string(bits) + " " + name_of(c.hash) + "/" + name_of(c.mgf1) + " salt " +
                   std::to_string(c.salt));
      Bytes d = digest(c.hash, bytes_of("message for PSS"));
      auto em = pss_encode(d, c.hash, c.mgf1, c.salt, bits);
      if (bits < 2048 && c.hash == Hash::sha512) {  // 64 + 64 + 2 > 127 bytes
        EXPECT_FALSE(em);
        continue;
      }
      ASSERT_TRUE(em);
      ASSERT_EQ(em->size(), modulus_bytes(key));
      Bytes signature = raw_sign(key, *em);
      ASSERT_EQ(signature.size(), modulus_bytes(key));
      EXPECT_TRUE(verify_pss(key, d, signature, c.hash, c.mgf1, static_cast<int>(c.salt)));
      EXPECT_TRUE(verify_pss(key, d, signature, c.hash, c.mgf1, RSA_PSS_SALTLEN_AUTO));
      Bytes other = digest(c.hash, bytes_of("another message"));
      EXPECT_FALSE(verify_pss(key, other, signature, c.hash, c.mgf1, static_cast<int>(c.salt)));
    }
  }
}

TEST(PssEncode, FreshSaltEachTimeAndBadInput) {
  Bytes d = digest(Hash::sha256, bytes_of("x"));
  auto a = pss_encode(d, Hash::sha256, Hash::sha256, 32, 2048);
  auto b = pss_encode(d, Hash::sha256, Hash::sha256, 32, 2048);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->back(), 0xBC);
  EXPECT_EQ((*a)[0] & 0x80, 0);
  EXPECT_FALSE(pss_encode(Bytes(31), Hash::sha256, Hash::sha256, 32, 2048));  // wrong digest length
  EXPECT_FALSE(pss_encode(d, Hash::none, Hash::sha256, 32, 2048));
  EXPECT_FALSE(pss_encode(d, Hash::sha256, Hash::none, 32, 2048));
  EXPECT_FALSE(pss_encode(d, Hash::sha256, Hash::sha256, 256, 2048));  // salt too long
  EXPECT_TRUE(pss_encode(d, Hash::sha256, Hash::sha256, 256 - 32 - 2, 2048));
  EXPECT_FALSE(pss_encode(d, Hash::sha256, Hash::sha256, 256 - 32 - 1, 2048));
  EXPECT_FALSE(pss_encode(d, Hash::sha256, Hash::sha256, 0, 0));
  EXPECT_FALSE(pss_encode(d, Hash::sha256, Hash::sha256, 0, 1));
}

// ---- OAEP -----------------------------------------------------------------------------------

TEST(OaepDecode, RecoversOpenSslEncryption) {
  EVP_PKEY* key = rsa_key(2048);
  ASSERT_NE(key, nullptr);
  const std::size_t k = modulus_bytes(key);
  const std::tuple<Hash, Hash, std::string> cases[] = {
      {Hash::sha1, Hash::sha1, ""},        {Hash::sha1, Hash::sha1, "a label"},
      {Hash::sha256, Hash::sha256, ""},    {Hash::sha256, Hash::sha256, "another label"},
      {Hash::sha256, Hash::sha1, "mixed"}, {Hash::sha384, Hash::sha512, ""}};
  for (const auto& [hash, mgf1, label_text] : cases) {
    const Bytes label = bytes_of(label_text);
    const std::size_t max = k - 2 * hash_length(hash) - 2;
    for (std::size_t length : {std::size_t{0}, std::size_t{1}, std::size_t{16}, max}) {
      SCOPED_TRACE(std::string(name_of(hash)) + "/" + name_of(mgf1) + " '" + label_text + "' " +
                   std::to_string(length));
      Bytes message = random_bytes(length);
      Bytes ciphertext = encrypt(key, message, RSA_PKCS1_OAEP_PADDING, hash, mgf1, label);
      ASSERT_EQ(ciphertext.size(), k);
      Bytes em = raw_decrypt(key, ciphertext);
      ASSERT_EQ(em.size(), k);
      auto out = oaep_decode(em, hash, mgf1, label);
      ASSERT_TRUE(out);
      EXPECT_EQ(*out, message);

      // Wrong label, hash or MGF1 hash.
      EXPECT_FALSE(oaep_decode(em, hash, mgf1, bytes_of(label_text + "x")));
      EXPECT_FALSE(oaep_decode(em, hash == Hash::sha1 ? Hash::sha256 : Hash::sha1, mgf1, label));
      EXPECT_FALSE(oaep_decode(em, hash, mgf1 == Hash::sha1 ? Hash::sha256 : Hash::sha1, label));
    }
  }
}

TEST(OaepDecode, CorruptedBlockFails) {
  EVP_PKEY* key = rsa_key(2048);
  ASSERT_NE(key, nullptr);
  const std::size_t k = modulus_bytes(key);
  const Bytes message = bytes_of("secret");
  Bytes em =
      raw_decrypt(key, encrypt(key, message, RSA_PKCS1_OAEP_PADDING, Hash::sha256, Hash::sha256));
  ASSERT_EQ(em.size(), k);
  ASSERT_EQ(oaep_decode(em, Hash::sha256, Hash::sha256, {}), message);
  for (std::size_t position : {std::size_t{0}, std::size_t{1}, std::size_t{32}, std::size_t{33},
                               std::size_t{100}, k - 7, k - 1}) {
    SCOPED_TRACE(position);
    Bytes corrupted = em;
    corrupted[position] ^= 0x01;
    EXPECT_FALSE(oaep_decode(corrupted, Hash::sha256, Hash::sha256, {}));
  }
  EXPECT_FALSE(oaep_decode(Bytes(em.begin(), em.end() - 1), Hash::sha256, Hash::sha256, {}));
  EXPECT_FALSE(oaep_decode(Bytes(2 * 32 + 1), Hash::sha256, Hash::sha256, {}));  // too short
  EXPECT_FALSE(oaep_decode({}, Hash::sha256, Hash::sha256, {}));
  EXPECT_FALSE(oaep_decode(em, Hash::none, Hash::sha256, {}));
}

TEST(OaepDecode, HandBuiltBlocks) {
  const std::size_t k = 128;
  const Bytes label = bytes_of("L");
  const std::size_t tail = k - 20 - 1 - 20;  // DB length minus lHash, with SHA-1
  auto db_tail = [&](std::size_t zeros, std::uint8_t separator, const Bytes& message) {
    Bytes out(zeros, 0x00);
    out.push_back(separator);
    out.insert(out.end(), message.begin(), message.end());
    out.resize(tail, 0x00);
    return out;
  };
  // No padding string at all, and a message that itself starts with 01.
  Bytes message(tail - 1, 0x00);
  message[0] = 0x01;
  message[1] = 0x02;
  auto out = oaep_decode(test_oaep_block(Hash::sha1, k, label, db_tail(0, 0x01, message)),
                         Hash::sha1, Hash::sha1, label);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, message);
  // Empty message: 01 is the last byte.
  Bytes empty_tail(tail, 0x00);
  empty_tail.back() = 0x01;
  EXPECT_EQ(
      oaep_decode(test_oaep_block(Hash::sha1, k, label, empty_tail), Hash::sha1, Hash::sha1, label),
      Bytes{});
  // No 01 separator.
  EXPECT_FALSE(oaep_decode(test_oaep_block(Hash::sha1, k, label, Bytes(tail, 0x00)), Hash::sha1,
                           Hash::sha1, label));
  // A byte other than 00 or 01 before the separator.
  EXPECT_FALSE(
      oaep_decode(test_oaep_block(Hash::sha1, k, label, db_tail(10, 0x02, Bytes{0x01, 0x05})),
                  Hash::sha1, Hash::sha1, label));
  // Y not zero.
  Bytes block = test_oaep_block(Hash::sha1, k, label, db_tail(10, 0x01, Bytes{0x05}));
  ASSERT_TRUE(oaep_decode(block, Hash::sha1, Hash::sha1, label));
  block[0] = 0x80;
  EXPECT_FALSE(oaep_decode(block, Hash::sha1, Hash::sha1, label));
}

// ---- ECDSA ------------------------------------------------------------------------------------

Bytes ecdsa_sign_der(EVP_PKEY* key, const Bytes& digest_value) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  std::size_t length = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &length, digest_value.data(), digest_value.size()) != 1) {
    return {};
  }
  Bytes out(length);
  if (EVP_PKEY_sign(ctx.get(), out.data(), &length, digest_value.data(), digest_value.size()) != 1)
    return {};
  out.resize(length);
  return out;
}

// r || s as OpenSSL reads the DER.
Bytes reference_raw(const Bytes& der, std::size_t n, std::size_t& r_length, std::size_t& s_length) {
  const unsigned char* p = der.data();
  EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return {};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  r_length = static_cast<std::size_t>(BN_num_bytes(r));
  s_length = static_cast<std::size_t>(BN_num_bytes(s));
  Bytes out(2 * n);
  BN_bn2binpad(r, out.data(), static_cast<int>(n));
  BN_bn2binpad(s, out.data() + n, static_cast<int>(n));
  return out;
}

TEST(EcdsaDerToRaw, MatchesOpenSslSignaturesIncludingShortValues) {
  for (Curve c : {Curve::p256, Curve::p384}) {
    SCOPED_TRACE(c == Curve::p256 ? "P-256" : "P-384");
    EVP_PKEY* key = ec_key(c);
    ASSERT_NE(key, nullptr);
    const std::size_t n = field_bytes(c);
    bool short_r = false, short_s = false, full_length = false;
    Bytes d = digest(c == Curve::p256 ? Hash::sha256 : Hash::sha384, bytes_of("ecdsa"));
    // A value one byte short comes once in 256 signatures; both, and a full-length one with
    // a sign byte, are near certain within the cap.
    for (int i = 0; i < 20000 && !(short_r && short_s && full_length); ++i) {
      Bytes der = ecdsa_sign_der(key, d);
      ASSERT_FALSE(der.empty());
      std::size_t r_length = 0, s_length = 0;
      Bytes expected = reference_raw(der, n, r_length, s_length);
      ASSERT_EQ(expected.size(), 2 * n);
      bool interesting = r_length < n || s_length < n || (i < 4);
      if (!interesting) continue;
      short_r |= r_length < n;
      short_s |= s_length < n;
      full_length |= r_length == n && s_length == n;
      auto raw = ecdsa_der_to_raw(der, n);
      ASSERT_TRUE(raw);
      EXPECT_EQ(*raw, expected);
      EXPECT_FALSE(ecdsa_der_to_raw(der, n - 1).has_value() && (r_length == n || s_length == n));
    }
    EXPECT_TRUE(short_r);
    EXPECT_TRUE(short_s);
    EXPECT_TRUE(full_length);
  }
}

TEST(EcdsaDerToRaw, HandBuiltAndMalformed) {
  // Tiny values are left-padded.
  Bytes raw = Bytes(4, 0x00);
  raw[1] = 0x01;
  raw[3] = 0x02;
  EXPECT_EQ(ecdsa_der_to_raw(from_hex("3006020101020102"), 2), raw);
  // A sign byte is stripped; a full-length value fits.
  EXPECT_EQ(ecdsa_der_to_raw(from_hex("300902030080ff02020102"), 2), from_hex("80ff0102"));
  EXPECT_EQ(ecdsa_der_to_raw(from_hex("3006020100020100"), 2), from_hex("00000000"));
  // Too long for the field, even after the sign byte.
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("3009020301020302020102"), 2));
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("30090204008001ff020102"), 2));
  // Malformed DER.
  EXPECT_FALSE(ecdsa_der_to_raw({}, 32));
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("30"), 32));
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("3106020101020102"), 2));      // not a SEQUENCE
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("3006020101030102"), 2));      // not an INTEGER
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("300602010102010200"), 2));    // trailing byte
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("3007020101020102"), 2));      // length past end
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("3005020101020102"), 2));      // length short of content
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("30080201010201020500"), 2));  // extra element
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("3003020101"), 2));            // s missing
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("3006020181020102"), 2));      // negative r
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("300702020001020102"), 2));    // non-minimal r
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("30050200020101"), 2));        // zero-length INTEGER
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("308106020101020102"), 2));    // non-minimal length
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("30800201010201020000"), 2));  // indefinite length
  EXPECT_FALSE(ecdsa_der_to_raw(from_hex("3006020101020102"), 0));
}

// ---- EC parameters and points ---------------------------------------------------------------

TEST(EcParams, NamedCurveOids) {
  EXPECT_EQ(ec_params(Curve::p256), from_hex("06082a8648ce3d030107"));
  EXPECT_EQ(ec_params(Curve::p384), from_hex("06052b81040022"));
  EXPECT_EQ(curve_from_params(ec_params(Curve::p256)), Curve::p256);
  EXPECT_EQ(curve_from_params(ec_params(Curve::p384)), Curve::p384);
  EXPECT_FALSE(curve_from_params(from_hex("06052b81040023")));          // P-521
  EXPECT_FALSE(curve_from_params(from_hex("06082a8648ce3d03010700")));  // trailing byte
  EXPECT_FALSE(curve_from_params(from_hex("130a7072696d6532353676")));  // printable string
  EXPECT_FALSE(curve_from_params({}));
  EXPECT_EQ(field_bytes(Curve::p256), 32u);
  EXPECT_EQ(field_bytes(Curve::p384), 48u);
}

TEST(EcPoint, AttributeAndUnwrap) {
  for (Curve c : {Curve::p256, Curve::p384}) {
    SCOPED_TRACE(c == Curve::p256 ? "P-256" : "P-384");
    Bytes point = ec_point_of(ec_key(c));
    ASSERT_EQ(point.size(), 1 + 2 * field_bytes(c));
    ASSERT_EQ(point[0], 0x04);
    Bytes attribute = ec_point_attribute(point);
    Bytes expected{0x04, static_cast<std::uint8_t>(point.size())};
    expected.insert(expected.end(), point.begin(), point.end());
    EXPECT_EQ(attribute, expected);
    EXPECT_EQ(unwrap_ec_point(point, c), point);
    EXPECT_EQ(unwrap_ec_point(attribute, c), point);

    const Curve other = c == Curve::p256 ? Curve::p384 : Curve::p256;
    EXPECT_FALSE(unwrap_ec_point(point, other));
    EXPECT_FALSE(unwrap_ec_point(attribute, other));
    EXPECT_FALSE(unwrap_ec_point(Bytes(point.begin(), point.end() - 1), c));
    EXPECT_FALSE(unwrap_ec_point(Bytes(attribute.begin(), attribute.end() - 1), c));
    Bytes longer = attribute;
    longer.push_back(0x00);
    EXPECT_FALSE(unwrap_ec_point(longer, c));
    Bytes compressed(point.begin(),
                     point.begin() + 1 + static_cast<std::ptrdiff_t>(field_bytes(c)));
    compressed[0] = 0x02;
    EXPECT_FALSE(unwrap_ec_point(compressed, c));
    EXPECT_FALSE(unwrap_ec_point(ec_point_attribute(compressed), c));
    Bytes wrong_prefix = point;
    wrong_prefix[0] = 0x03;
    EXPECT_FALSE(unwrap_ec_point(wrong_prefix, c));
    EXPECT_FALSE(unwrap_ec_point(ec_point_attribute(wrong_prefix), c));
    Bytes wrong_tag = attribute;
    wrong_tag[0] = 0x03;
    EXPECT_FALSE(unwrap_ec_point(wrong_tag, c));
  }
  EXPECT_FALSE(unwrap_ec_point({}, Curve::p256));
  EXPECT_FALSE(unwrap_ec_point({0x04}, Curve::p256));
  // Long-form lengths are encoded for big values.
  Bytes big(200, 0x11);
  Bytes wrapped = ec_point_attribute(big);
  ASSERT_EQ(wrapped.size(), 203u);
  EXPECT_EQ(wrapped[0], 0x04);
  EXPECT_EQ(wrapped[1], 0x81);
  EXPECT_EQ(wrapped[2], 200);
}

// ---- SPKI -----------------------------------------------------------------------------------

TEST(Spki, RsaMatchesOpenSsl) {
  for (unsigned bits : {2048u, 1025u}) {
    EVP_PKEY* key = rsa_key(bits);
    ASSERT_NE(key, nullptr);
    Bytes n = bn_bytes(key, OSSL_PKEY_PARAM_RSA_N);
    Bytes e = bn_bytes(key, OSSL_PKEY_PARAM_RSA_E);
    ASSERT_FALSE(n.empty());
    ASSERT_FALSE(e.empty());
    const Bytes expected = i2d_pubkey(key);
    EXPECT_EQ(rsa_spki(n, e), expected);
    // Leading zero bytes (the token's fixed-width modulus) change nothing.
    Bytes padded_n;
    padded_n.reserve(n.size() + 3);
    padded_n.assign(3, 0x00);
    padded_n.insert(padded_n.end(), n.begin(), n.end());
    EXPECT_EQ(rsa_spki(padded_n, Bytes{0x00, 0x01, 0x00, 0x01}), expected);

    auto parts = parse_spki(expected);
    ASSERT_TRUE(parts);
    EXPECT_TRUE(parts->is_rsa);
    EXPECT_EQ(parts->modulus, n);
    EXPECT_EQ(parts->exponent, e);
  }
  EXPECT_TRUE(rsa_spki({}, {0x03}).empty());
  EXPECT_TRUE(rsa_spki({0x00, 0x00}, {0x03}).empty());
}

TEST(Spki, EcMatchesOpenSsl) {
  for (Curve c : {Curve::p256, Curve::p384}) {
    SCOPED_TRACE(c == Curve::p256 ? "P-256" : "P-384");
    EVP_PKEY* key = ec_key(c);
    ASSERT_NE(key, nullptr);
    Bytes point = ec_point_of(key);
    const Bytes expected = i2d_pubkey(key);
    EXPECT_EQ(ec_spki(c, point), expected);
    EXPECT_TRUE(ec_spki(c == Curve::p256 ? Curve::p384 : Curve::p256, point).empty());

    auto parts = parse_spki(expected);
    ASSERT_TRUE(parts);
    EXPECT_FALSE(parts->is_rsa);
    EXPECT_EQ(parts->curve, c);
    EXPECT_EQ(parts->point, point);

    // A compressed point in the SPKI still comes out uncompressed.
    Pkey copy(EVP_PKEY_dup(key));
    ASSERT_TRUE(copy);
    ASSERT_EQ(EVP_PKEY_set_utf8_string_param(copy.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                             OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
              1);
    Bytes compressed_spki = i2d_pubkey(copy.get());
    ASSERT_LT(compressed_spki.size(), expected.size());
    auto from_compressed = parse_spki(compressed_spki);
    ASSERT_TRUE(from_compressed);
    EXPECT_EQ(from_compressed->point, point);
  }
}

TEST(Spki, RejectsOtherKeysAndGarbage) {
  Pkey ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_TRUE(ed);
  EXPECT_FALSE(parse_spki(i2d_pubkey(ed.get())));
  Pkey p521(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
  ASSERT_TRUE(p521);
  EXPECT_FALSE(parse_spki(i2d_pubkey(p521.get())));
  EXPECT_FALSE(parse_spki({}));
  EXPECT_FALSE(parse_spki(from_hex("3000")));
  Bytes trailing = i2d_pubkey(ec_key(Curve::p256));
  trailing.push_back(0x00);
  EXPECT_FALSE(parse_spki(trailing));
  Bytes truncated = i2d_pubkey(ec_key(Curve::p256));
  truncated.pop_back();
  EXPECT_FALSE(parse_spki(truncated));
}

// ---- certificates -----------------------------------------------------------------------------

X509Ptr make_certificate(EVP_PKEY* key, const Bytes& serial) {
  X509Ptr cert(X509_new());
  if (!cert) return nullptr;
  Bn bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  X509_NAME* subject = X509_NAME_new();
  X509_NAME* issuer = X509_NAME_new();
  const auto* cn = reinterpret_cast<const unsigned char*>("Cl\xc3\xa9 certkey");
  bool ok = bn && subject && issuer && X509_set_version(cert.get(), 2) == 1 &&
            BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) != nullptr &&
            X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("certkey"), -1, -1,
                                       0) == 1 &&
            X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, cn, -1, -1, 0) == 1 &&
            X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("certkey test CA"),
                                       -1, -1, 0) == 1 &&
            X509_set_subject_name(cert.get(), subject) == 1 &&
            X509_set_issuer_name(cert.get(), issuer) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) != nullptr &&
            X509_set_pubkey(cert.get(), key) == 1 && X509_sign(cert.get(), key, EVP_sha256()) > 0;
  X509_NAME_free(subject);
  X509_NAME_free(issuer);
  if (!ok) cert.reset();
  return cert;
}

TEST(ParseCertificate, FieldsMatchOpenSsl) {
  for (EVP_PKEY* key : {rsa_key(2048), ec_key(Curve::p256), ec_key(Curve::p384)}) {
    ASSERT_NE(key, nullptr);
    // A serial with its top bit set needs a sign byte in the DER INTEGER.
    X509Ptr cert = make_certificate(key, from_hex("80112233445566778899"));
    ASSERT_TRUE(cert);
    Bytes der = i2d_bytes(cert.get(), i2d_X509);
    ASSERT_FALSE(der.empty());

    auto fields = parse_certificate(der);
    ASSERT_TRUE(fields);
    EXPECT_EQ(fields->subject, i2d_bytes(X509_get_subject_name(cert.get()), i2d_X509_NAME));
    EXPECT_EQ(fields->issuer, i2d_bytes(X509_get_issuer_name(cert.get()), i2d_X509_NAME));
    EXPECT_NE(fields->subject, fields->issuer);
    EXPECT_EQ(fields->serial_number,
              i2d_bytes(X509_get0_serialNumber(cert.get()), i2d_ASN1_INTEGER));
    EXPECT_EQ(fields->serial_number, from_hex("020b0080112233445566778899"));
    EXPECT_EQ(fields->spki, i2d_pubkey(key));
    EXPECT_EQ(fields->common_name, "Cl\xc3\xa9 certkey");

    auto parts = parse_spki(fields->spki);
    ASSERT_TRUE(parts);
    EXPECT_EQ(parts->is_rsa, EVP_PKEY_is_a(key, "RSA") == 1);

    Bytes trailing = der;
    trailing.push_back(0x00);
    EXPECT_FALSE(parse_certificate(trailing));
    EXPECT_FALSE(parse_certificate(Bytes(der.begin(), der.end() - 1)));
  }
  EXPECT_FALSE(parse_certificate({}));
  EXPECT_FALSE(parse_certificate(from_hex("3003020101")));
}

TEST(ParseCertificate, NoCommonName) {
  EVP_PKEY* key = ec_key(Curve::p256);
  X509Ptr cert(X509_new());
  X509_NAME* name = X509_NAME_new();
  ASSERT_TRUE(cert && name);
  ASSERT_EQ(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("only O"), -1, -1, 0),
            1);
  ASSERT_EQ(X509_set_subject_name(cert.get(), name), 1);
  ASSERT_EQ(X509_set_issuer_name(cert.get(), name), 1);
  X509_NAME_free(name);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60);
  ASSERT_EQ(X509_set_pubkey(cert.get(), key), 1);
  ASSERT_GT(X509_sign(cert.get(), key, EVP_sha256()), 0);
  auto fields = parse_certificate(i2d_bytes(cert.get(), i2d_X509));
  ASSERT_TRUE(fields);
  EXPECT_TRUE(fields->common_name.empty());
  EXPECT_EQ(fields->serial_number, from_hex("020101"));
  EXPECT_EQ(fields->subject, fields->issuer);
}

// ---- the token's public key template ------------------------------------------------------------

Bytes tlv(std::uint8_t tag, const Bytes& value) {
  Bytes out{tag};
  if (value.size() < 0x80) {
    out.push_back(static_cast<std::uint8_t>(value.size()));
  } else if (value.size() < 0x100) {
    out.insert(out.end(), {0x81, static_cast<std::uint8_t>(value.size())});
  } else {
    out.insert(out.end(), {0x82, static_cast<std::uint8_t>(value.size() >> 8),
                           static_cast<std::uint8_t>(value.size())});
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(ParsePublicKeyTemplate, Rsa) {
  EVP_PKEY* key = rsa_key(2048);
  Bytes n = bn_bytes(key, OSSL_PKEY_PARAM_RSA_N);
  ASSERT_EQ(n.size(), 256u);
  const Bytes e{0x01, 0x00, 0x01};
  const Bytes contents = cat({tlv(0x81, n), tlv(0x82, e)});
  ASSERT_EQ(contents.size(), 4 + 256 + 2 + 3u);
  auto parts = parse_public_key_template(contents, true, Curve::p256);
  ASSERT_TRUE(parts);
  EXPECT_TRUE(parts->is_rsa);
  EXPECT_EQ(parts->modulus, n);
  EXPECT_EQ(parts->exponent, e);
  EXPECT_EQ(rsa_spki(parts->modulus, parts->exponent), i2d_pubkey(key));

  // Either order; inside a complete 7F49 element too.
  EXPECT_TRUE(parse_public_key_template(cat({tlv(0x82, e), tlv(0x81, n)}), true, Curve::p256));
  Bytes wrapped{0x7F, 0x49, 0x82, static_cast<std::uint8_t>(contents.size() >> 8),
                static_cast<std::uint8_t>(contents.size())};
  wrapped.insert(wrapped.end(), contents.begin(), contents.end());
  auto from_wrapped = parse_public_key_template(wrapped, true, Curve::p256);
  ASSERT_TRUE(from_wrapped);
  EXPECT_EQ(from_wrapped->modulus, n);
  wrapped.push_back(0x00);
  EXPECT_FALSE(parse_public_key_template(wrapped, true, Curve::p256));
  // Leading zeros of a fixed-width modulus are dropped.
  Bytes padded_n(2, 0x00);
  padded_n.insert(padded_n.end(), n.begin(), n.end());
  auto padded = parse_public_key_template(
      cat({tlv(0x81, padded_n), tlv(0x82, Bytes{0x00, 0x01, 0x00, 0x01})}), true, Curve::p256);
  ASSERT_TRUE(padded);
  EXPECT_EQ(padded->modulus, n);
  EXPECT_EQ(padded->exponent, e);

  EXPECT_FALSE(parse_public_key_template(tlv(0x81, n), true, Curve::p256));  // no exponent
  EXPECT_FALSE(parse_public_key_template(tlv(0x82, e), true, Curve::p256));  // no modulus
  EXPECT_FALSE(parse_public_key_template(cat({tlv(0x81, n), tlv(0x82, e), tlv(0x82, e)}), true,
                                         Curve::p256));
  EXPECT_FALSE(parse_public_key_template(cat({tlv(0x81, n), tlv(0x82, e), tlv(0x83, e)}), true,
                                         Curve::p256));
  EXPECT_FALSE(
      parse_public_key_template(cat({tlv(0x81, n), tlv(0x82, Bytes{0x00})}), true, Curve::p256));
  EXPECT_FALSE(parse_public_key_template(contents, false, Curve::p256));  // not an EC template
  Bytes truncated = contents;
  truncated.pop_back();
  EXPECT_FALSE(parse_public_key_template(truncated, true, Curve::p256));
  Bytes trailing = contents;
  trailing.push_back(0x82);
  EXPECT_FALSE(parse_public_key_template(trailing, true, Curve::p256));
  EXPECT_FALSE(parse_public_key_template({}, true, Curve::p256));
  EXPECT_FALSE(
      parse_public_key_template(from_hex("8184ffffffff"), true, Curve::p256));   // huge length
  EXPECT_FALSE(parse_public_key_template(from_hex("8180"), true, Curve::p256));  // indefinite
}

TEST(ParsePublicKeyTemplate, Ec) {
  for (Curve c : {Curve::p256, Curve::p384}) {
    SCOPED_TRACE(c == Curve::p256 ? "P-256" : "P-384");
    Bytes point = ec_point_of(ec_key(c));
    auto parts = parse_public_key_template(tlv(0x86, point), false, c);
    ASSERT_TRUE(parts);
    EXPECT_FALSE(parts->is_rsa);
    EXPECT_EQ(parts->curve, c);
    EXPECT_EQ(parts->point, point);
    EXPECT_EQ(ec_spki(c, parts->point), i2d_pubkey(ec_key(c)));

    const Curve other = c == Curve::p256 ? Curve::p384 : Curve::p256;
    EXPECT_FALSE(parse_public_key_template(tlv(0x86, point), false, other));
    EXPECT_FALSE(parse_public_key_template(tlv(0x86, point), true, c));
    EXPECT_FALSE(parse_public_key_template(cat({tlv(0x86, point), tlv(0x86, point)}), false, c));
    EXPECT_FALSE(
        parse_public_key_template(cat({tlv(0x86, point), tlv(0x81, Bytes{0x01})}), false, c));
    Bytes bad_prefix = point;
    bad_prefix[0] = 0x02;
    EXPECT_FALSE(parse_public_key_template(tlv(0x86, bad_prefix), false, c));
    Bytes truncated = tlv(0x86, point);
    truncated.pop_back();
    EXPECT_FALSE(parse_public_key_template(truncated, false, c));
  }
  EXPECT_FALSE(parse_public_key_template({}, false, Curve::p256));
  EXPECT_FALSE(parse_public_key_template(from_hex("86"), false, Curve::p256));
}

// ---- random ---------------------------------------------------------------------------------

TEST(RandomBytes, LengthAndFreshness) {
  EXPECT_TRUE(random_bytes(0).empty());
  Bytes a = random_bytes(32);
  Bytes b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace certkey::p11
