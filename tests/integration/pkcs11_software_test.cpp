// The module's software operations (docs/pkcs11.md, section 9.7), checked against OpenSSL on
// a simulated token through pcscd: C_Digest against EVP_Digest; C_Verify on signatures the
// token made, which OpenSSL verifies too, and on altered ones, which both refuse; C_Encrypt
// whose raw RSA matches OpenSSL's and whose padded results the token decrypts. None of them
// sends an APDU. Runs inside tests/harness/with-tokens.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../harness/module_client.hpp"
#include "../harness/sim_control.hpp"

namespace {

using certkey::test::sim;
using certkey::test::sim_apdus;

using Bytes = certkey::test::ModuleClient::Bytes;

Bytes openssl_digest(const EVP_MD* md, const Bytes& data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &length, md, nullptr);
  out.resize(length);
  return out;
}

EVP_PKEY* pkey_from_spki(const Bytes& spki) {
  const unsigned char* p = spki.data();
  return d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
}

// r || s as the DER OpenSSL verifies.
Bytes ecdsa_der(const Bytes& raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  const int half = static_cast<int>(raw.size() / 2);
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), half, nullptr),
                 BN_bin2bn(raw.data() + half, half, nullptr));
  Bytes der(static_cast<std::size_t>(i2d_ECDSA_SIG(sig, nullptr)));
  unsigned char* out = der.data();
  i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);
  return der;
}

class Software : public ::testing::Test, protected certkey::test::ModuleClient {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ok);
    ASSERT_EQ(logged_in(session_), CKR_OK);
  }
  void TearDown() override { p11->C_CloseSession(session_); }

  Bytes sign(CK_MECHANISM mechanism, CK_OBJECT_HANDLE key, const Bytes& data) {
    Bytes signature(512);
    CK_ULONG length = signature.size();
    Bytes input = data;
    EXPECT_EQ(p11->C_SignInit(session_, &mechanism, key), CKR_OK);
    EXPECT_EQ(p11->C_Sign(session_, input.data(), input.size(), signature.data(), &length), CKR_OK);
    signature.resize(length);
    return signature;
  }
  CK_RV verify(CK_MECHANISM mechanism, CK_OBJECT_HANDLE key, const Bytes& data,
               const Bytes& signature) {
    Bytes input = data, sig = signature;
    const CK_RV rv = p11->C_VerifyInit(session_, &mechanism, key);
    if (rv != CKR_OK) return rv;
    return p11->C_Verify(session_, input.data(), input.size(), sig.data(), sig.size());
  }
  CK_RV verify_in_parts(CK_MECHANISM mechanism, CK_OBJECT_HANDLE key, const Bytes& data,
                        const Bytes& signature) {
    Bytes input = data, sig = signature;
    EXPECT_EQ(p11->C_VerifyInit(session_, &mechanism, key), CKR_OK);
    for (std::size_t i = 0; i < input.size(); i += 7) {
      EXPECT_EQ(p11->C_VerifyUpdate(session_, input.data() + i,
                                    std::min<std::size_t>(7, input.size() - i)),
                CKR_OK);
    }
    return p11->C_VerifyFinal(session_, sig.data(), sig.size());
  }

  CK_SESSION_HANDLE session_ = 0;
  const Bytes message_ = Bytes(1000, 0x5C);
};

TEST_F(Software, Digest_MatchesOpenSsl_SinglePartAndInParts_WithoutAnApdu) {
  const std::pair<CK_MECHANISM_TYPE, const EVP_MD*> hashes[] = {{CKM_SHA_1, EVP_sha1()},
                                                                {CKM_SHA224, EVP_sha224()},
                                                                {CKM_SHA256, EVP_sha256()},
                                                                {CKM_SHA384, EVP_sha384()},
                                                                {CKM_SHA512, EVP_sha512()}};
  const std::uint64_t before = sim_apdus();
  Bytes data = message_;
  for (const auto& [type, md] : hashes) {
    const Bytes expected = openssl_digest(md, data);
    CK_MECHANISM mechanism{type, nullptr, 0};
    CK_MECHANISM_INFO info{};
    ASSERT_EQ(p11->C_GetMechanismInfo(slot(), type, &info), CKR_OK);
    EXPECT_EQ(info.flags, CKF_DIGEST) << "software only: no CKF_HW";
    // Single part, with a length query and a short buffer that leave the operation running.
    ASSERT_EQ(p11->C_DigestInit(session_, &mechanism), CKR_OK);
    CK_ULONG length = 0;
    ASSERT_EQ(p11->C_Digest(session_, data.data(), data.size(), nullptr, &length), CKR_OK);
    ASSERT_EQ(length, expected.size());
    Bytes out(length);
    CK_ULONG short_length = length - 1;
    EXPECT_EQ(p11->C_Digest(session_, data.data(), data.size(), out.data(), &short_length),
              CKR_BUFFER_TOO_SMALL);
    ASSERT_EQ(p11->C_Digest(session_, data.data(), data.size(), out.data(), &length), CKR_OK);
    EXPECT_EQ(out, expected);
    EXPECT_EQ(p11->C_Digest(session_, data.data(), data.size(), out.data(), &length),
              CKR_OPERATION_NOT_INITIALIZED);
    // In parts.
    ASSERT_EQ(p11->C_DigestInit(session_, &mechanism), CKR_OK);
    for (std::size_t i = 0; i < data.size(); i += 333) {
      ASSERT_EQ(p11->C_DigestUpdate(session_, data.data() + i,
                                    std::min<std::size_t>(333, data.size() - i)),
                CKR_OK);
    }
    Bytes parts(expected.size());
    length = parts.size();
    ASSERT_EQ(p11->C_DigestFinal(session_, parts.data(), &length), CKR_OK);
    EXPECT_EQ(parts, expected);
  }
  EXPECT_EQ(sim_apdus(), before);
}

TEST_F(Software, Digest_ReturnCodes) {
  CK_MECHANISM sha256{CKM_SHA256, nullptr, 0}, md5{CKM_MD5, nullptr, 0};
  CK_ULONG length = 32;
  Bytes out(32);
  EXPECT_EQ(p11->C_DigestInit(session_, &md5), CKR_MECHANISM_INVALID);
  EXPECT_EQ(p11->C_DigestInit(session_, nullptr), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(p11->C_DigestInit(0xBAD, &sha256), CKR_SESSION_HANDLE_INVALID);
  EXPECT_EQ(p11->C_DigestFinal(session_, out.data(), &length), CKR_OPERATION_NOT_INITIALIZED);
  ASSERT_EQ(p11->C_DigestInit(session_, &sha256), CKR_OK);
  EXPECT_EQ(p11->C_DigestInit(session_, &sha256), CKR_OPERATION_ACTIVE);
  EXPECT_EQ(p11->C_DigestFinal(session_, out.data(), nullptr), CKR_ARGUMENTS_BAD);
  ASSERT_EQ(generate(session_, 1), CKR_OK);
  EXPECT_EQ(p11->C_DigestKey(session_, find(session_, CKO_PRIVATE_KEY, 1)), CKR_KEY_INDIGESTIBLE);
  EXPECT_EQ(p11->C_DigestKey(session_, 0xBAD), CKR_KEY_HANDLE_INVALID);
  ASSERT_EQ(p11->C_DigestFinal(session_, out.data(), &length), CKR_OK);
  EXPECT_EQ(out, openssl_digest(EVP_sha256(), {}));
}

TEST_F(Software, Verify_EcdsaAndRsa_AgreesWithOpenSsl_WithoutAnApdu) {
  ASSERT_EQ(generate(session_, 1), CKR_OK);
  ASSERT_EQ(generate(session_, 3, true), CKR_OK);
  const CK_OBJECT_HANDLE ec_private = find(session_, CKO_PRIVATE_KEY, 1),
                         ec_public = find(session_, CKO_PUBLIC_KEY, 1);
  const CK_OBJECT_HANDLE rsa_private = find(session_, CKO_PRIVATE_KEY, 3),
                         rsa_public = find(session_, CKO_PUBLIC_KEY, 3);
  EVP_PKEY* ec = pkey_from_spki(attribute(session_, ec_public, CKA_PUBLIC_KEY_INFO));
  EVP_PKEY* rsa = pkey_from_spki(attribute(session_, rsa_public, CKA_PUBLIC_KEY_INFO));
  ASSERT_TRUE(ec && rsa);
  CK_RSA_PKCS_PSS_PARAMS pss{CKM_SHA256, CKG_MGF1_SHA256, 32};
  struct Case {
    CK_MECHANISM mechanism;
    bool is_rsa;
    const EVP_MD* md;  // OpenSSL's side
    bool pss;
  };
  const Case cases[] = {
      {{CKM_ECDSA_SHA256, nullptr, 0}, false, EVP_sha256(), false},
      {{CKM_ECDSA_SHA384, nullptr, 0}, false, EVP_sha384(), false},
      {{CKM_SHA256_RSA_PKCS, nullptr, 0}, true, EVP_sha256(), false},
      {{CKM_SHA512_RSA_PKCS, nullptr, 0}, true, EVP_sha512(), false},
      {{CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof pss}, true, EVP_sha256(), true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mechanism.mechanism);
    const Bytes signature = sign(c.mechanism, c.is_rsa ? rsa_private : ec_private, message_);
    // OpenSSL agrees that the token's signature is good.
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    ASSERT_EQ(EVP_DigestVerifyInit(ctx, &pctx, c.md, nullptr, c.is_rsa ? rsa : ec), 1);
    if (c.pss) {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
    }
    const Bytes der = c.is_rsa ? signature : ecdsa_der(signature);
    EXPECT_EQ(EVP_DigestVerify(ctx, der.data(), der.size(), message_.data(), message_.size()), 1);
    EVP_MD_CTX_free(ctx);
    // And so does the module, in one part and in several, without an APDU.
    const std::uint64_t before = sim_apdus();
    const CK_OBJECT_HANDLE key = c.is_rsa ? rsa_public : ec_public;
    EXPECT_EQ(verify(c.mechanism, key, message_, signature), CKR_OK);
    EXPECT_EQ(verify_in_parts(c.mechanism, key, message_, signature), CKR_OK);
    EXPECT_EQ(sim_apdus(), before);
    // An altered signature or message is refused; a signature of the wrong length too.
    Bytes altered = signature;
    altered[altered.size() / 2] ^= 0x01;
    EXPECT_EQ(verify(c.mechanism, key, message_, altered), CKR_SIGNATURE_INVALID);
    Bytes other = message_;
    other[0] ^= 0x01;
    EXPECT_EQ(verify(c.mechanism, key, other, signature), CKR_SIGNATURE_INVALID);
    EXPECT_EQ(verify(c.mechanism, key, message_, Bytes(signature.begin(), signature.end() - 1)),
              CKR_SIGNATURE_LEN_RANGE);
  }
  // Raw mechanisms: the caller's digest (ECDSA) or DigestInfo (RSA PKCS #1).
  const Bytes digest = openssl_digest(EVP_sha256(), message_);
  EXPECT_EQ(verify({CKM_ECDSA, nullptr, 0}, ec_public, digest,
                   sign({CKM_ECDSA, nullptr, 0}, ec_private, digest)),
            CKR_OK);
  static const Bytes kSha256Prefix = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                      0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  Bytes digest_info = kSha256Prefix;
  digest_info.insert(digest_info.end(), digest.begin(), digest.end());
  EXPECT_EQ(verify({CKM_RSA_PKCS, nullptr, 0}, rsa_public, digest_info,
                   sign({CKM_RSA_PKCS, nullptr, 0}, rsa_private, digest_info)),
            CKR_OK);
  EVP_PKEY_free(ec);
  EVP_PKEY_free(rsa);
}

TEST_F(Software, Verify_ReturnCodes) {
  ASSERT_EQ(generate(session_, 1), CKR_OK);
  const CK_OBJECT_HANDLE ec_private = find(session_, CKO_PRIVATE_KEY, 1),
                         ec_public = find(session_, CKO_PUBLIC_KEY, 1);
  CK_MECHANISM ecdsa{CKM_ECDSA_SHA256, nullptr, 0}, rsa{CKM_SHA256_RSA_PKCS, nullptr, 0},
      md5{CKM_MD5, nullptr, 0};
  EXPECT_EQ(p11->C_VerifyInit(session_, &ecdsa, ec_private), CKR_KEY_FUNCTION_NOT_PERMITTED)
      << "a private key";
  EXPECT_EQ(p11->C_VerifyInit(session_, &rsa, ec_public), CKR_KEY_TYPE_INCONSISTENT);
  EXPECT_EQ(p11->C_VerifyInit(session_, &md5, ec_public), CKR_MECHANISM_INVALID);
  EXPECT_EQ(p11->C_VerifyInit(session_, &ecdsa, 0xBAD), CKR_KEY_HANDLE_INVALID);
  EXPECT_EQ(p11->C_VerifyInit(session_, nullptr, ec_public), CKR_ARGUMENTS_BAD);
  EXPECT_EQ(p11->C_VerifyInit(0xBAD, &ecdsa, ec_public), CKR_SESSION_HANDLE_INVALID);
  Bytes signature(64);
  EXPECT_EQ(p11->C_VerifyFinal(session_, signature.data(), signature.size()),
            CKR_OPERATION_NOT_INITIALIZED);
  ASSERT_EQ(p11->C_VerifyInit(session_, &ecdsa, ec_public), CKR_OK);
  EXPECT_EQ(p11->C_VerifyInit(session_, &ecdsa, ec_public), CKR_OPERATION_ACTIVE);
  Bytes data = message_;
  EXPECT_EQ(p11->C_Verify(session_, data.data(), data.size(), signature.data(), signature.size()),
            CKR_SIGNATURE_INVALID);
  EXPECT_EQ(p11->C_Verify(session_, data.data(), data.size(), signature.data(), signature.size()),
            CKR_OPERATION_NOT_INITIALIZED)
      << "C_Verify ends the operation";
}

TEST_F(Software, Encrypt_RawMatchesOpenSsl_AndTheTokenDecryptsThePaddedOnes) {
  ASSERT_EQ(generate(session_, 3, true), CKR_OK);
  const CK_OBJECT_HANDLE rsa_private = find(session_, CKO_PRIVATE_KEY, 3),
                         rsa_public = find(session_, CKO_PUBLIC_KEY, 3);
  EVP_PKEY* rsa = pkey_from_spki(attribute(session_, rsa_public, CKA_PUBLIC_KEY_INFO));
  ASSERT_TRUE(rsa);
  auto encrypt = [&](CK_MECHANISM mechanism, Bytes data) {
    EXPECT_EQ(p11->C_EncryptInit(session_, &mechanism, rsa_public), CKR_OK);
    CK_ULONG length = 0;
    EXPECT_EQ(p11->C_Encrypt(session_, data.data(), data.size(), nullptr, &length), CKR_OK);
    EXPECT_EQ(length, 256u);
    Bytes out(length);
    EXPECT_EQ(p11->C_Encrypt(session_, data.data(), data.size(), out.data(), &length), CKR_OK);
    out.resize(length);
    return out;
  };
  auto decrypt = [&](CK_MECHANISM mechanism, Bytes cipher) {
    EXPECT_EQ(p11->C_DecryptInit(session_, &mechanism, rsa_private), CKR_OK);
    Bytes out(256);
    CK_ULONG length = out.size();
    EXPECT_EQ(p11->C_Decrypt(session_, cipher.data(), cipher.size(), out.data(), &length), CKR_OK);
    out.resize(length);
    return out;
  };
  // Raw RSA is deterministic: the module's result is OpenSSL's.
  const Bytes block(200, 0x42);
  const std::uint64_t before = sim_apdus();
  const Bytes raw = encrypt({CKM_RSA_X_509, nullptr, 0}, block);
  EXPECT_EQ(sim_apdus(), before);
  Bytes expected(256);
  std::size_t expected_length = expected.size();
  Bytes padded_block(56, 0);
  padded_block.insert(padded_block.end(), block.begin(), block.end());
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(rsa, nullptr);
  ASSERT_EQ(EVP_PKEY_encrypt_init(ctx), 1);
  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING);
  ASSERT_EQ(EVP_PKEY_encrypt(ctx, expected.data(), &expected_length, padded_block.data(),
                             padded_block.size()),
            1);
  EVP_PKEY_CTX_free(ctx);
  EXPECT_EQ(raw, expected);
  // PKCS #1 v1.5 and OAEP (with a label) are randomised: the token decrypts them.
  const Bytes secret = {'s', 'e', 'c', 'r', 'e', 't'};
  EXPECT_EQ(decrypt({CKM_RSA_PKCS, nullptr, 0}, encrypt({CKM_RSA_PKCS, nullptr, 0}, secret)),
            secret);
  Bytes label = {'l', 'a', 'b', 'e', 'l'};
  CK_RSA_PKCS_OAEP_PARAMS oaep{CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, label.data(),
                               label.size()};
  const CK_MECHANISM oaep_mechanism{CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
  EXPECT_EQ(decrypt(oaep_mechanism, encrypt(oaep_mechanism, secret)), secret);
  // In parts: the cipher text comes at C_EncryptFinal.
  CK_MECHANISM pkcs1{CKM_RSA_PKCS, nullptr, 0};
  ASSERT_EQ(p11->C_EncryptInit(session_, &pkcs1, rsa_public), CKR_OK);
  Bytes part = secret;
  CK_ULONG none = 99;
  ASSERT_EQ(p11->C_EncryptUpdate(session_, part.data(), 3, nullptr, &none), CKR_OK);
  EXPECT_EQ(none, 0u);
  ASSERT_EQ(p11->C_EncryptUpdate(session_, part.data() + 3, 3, nullptr, &none), CKR_OK);
  Bytes cipher(256);
  CK_ULONG length = cipher.size();
  ASSERT_EQ(p11->C_EncryptFinal(session_, cipher.data(), &length), CKR_OK);
  EXPECT_EQ(decrypt(pkcs1, cipher), secret);
  EVP_PKEY_free(rsa);
}

TEST_F(Software, Encrypt_ReturnCodes) {
  ASSERT_EQ(generate(session_, 1), CKR_OK);
  ASSERT_EQ(generate(session_, 3, true), CKR_OK);
  const CK_OBJECT_HANDLE ec_public = find(session_, CKO_PUBLIC_KEY, 1),
                         rsa_public = find(session_, CKO_PUBLIC_KEY, 3);
  CK_MECHANISM pkcs1{CKM_RSA_PKCS, nullptr, 0}, raw{CKM_RSA_X_509, nullptr, 0},
      oaep{CKM_RSA_PKCS_OAEP, nullptr, 0};
  EXPECT_EQ(p11->C_EncryptInit(session_, &pkcs1, ec_public), CKR_KEY_FUNCTION_NOT_PERMITTED)
      << "CKA_ENCRYPT FALSE";
  EXPECT_EQ(p11->C_EncryptInit(session_, &oaep, rsa_public), CKR_MECHANISM_PARAM_INVALID);
  EXPECT_EQ(p11->C_EncryptInit(session_, &pkcs1, find(session_, CKO_PRIVATE_KEY, 3)),
            CKR_KEY_FUNCTION_NOT_PERMITTED);
  Bytes too_long(246, 1), out(256);
  CK_ULONG length = out.size();
  ASSERT_EQ(p11->C_EncryptInit(session_, &pkcs1, rsa_public), CKR_OK);
  EXPECT_EQ(p11->C_Encrypt(session_, too_long.data(), too_long.size(), out.data(), &length),
            CKR_DATA_LEN_RANGE);
  EXPECT_EQ(p11->C_Encrypt(session_, too_long.data(), 1, out.data(), &length),
            CKR_OPERATION_NOT_INITIALIZED);
  // Raw RSA of a block not below the modulus.
  Bytes all_ones(256, 0xFF);
  ASSERT_EQ(p11->C_EncryptInit(session_, &raw, rsa_public), CKR_OK);
  EXPECT_EQ(p11->C_Encrypt(session_, all_ones.data(), all_ones.size(), out.data(), &length),
            CKR_DATA_INVALID);
}

}  // namespace
