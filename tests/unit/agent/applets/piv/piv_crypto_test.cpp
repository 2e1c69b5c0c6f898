// GENERAL AUTHENTICATE with the asymmetric keys (agent/applets/piv/piv_crypto.cpp): ECDSA
// and raw RSA signatures checked with OpenSSL, ECDH against an OpenSSL key, and raw RSA
// decryption of an OpenSSL ciphertext.
#include <openssl/core_names.h>

#include "support/token_fixture.hpp"

namespace certkey::agent::test {
namespace {

constexpr std::uint8_t k9A = u8(KeyRef::authentication);
constexpr std::uint8_t k9D = u8(KeyRef::key_management);

class GeneralAuthenticate : public TokenFixture {
 protected:
  // Generates a key in `slot` and returns its public key; leaves the PIN verified.
  Pkey generate_key(std::uint8_t slot, Algorithm algorithm) {
    EXPECT_EQ(authenticate(), Sw::ok);
    Response r = generate(slot, algorithm);
    EXPECT_EQ(r.sw, Sw::ok);
    EXPECT_EQ(verify_pin(kDefaultPin), Sw::ok);
    Pkey key = public_key(algorithm, r.data);
    EXPECT_TRUE(key) << "public key template not usable by OpenSSL";
    return key;
  }
  Response derive(std::uint8_t slot, Algorithm algorithm, const Buffer& peer_point) {
    Response r =
        send(Ins::general_authenticate, u8(algorithm), slot,
             tlv(tag::kDynamicAuth,
                 concat({tlv(tag::kResponse, {}), tlv(tag::kExponentiation, peer_point)})));
    if (r.sw == Sw::ok) {
      auto inner = find_value(r.data, tag::kDynamicAuth);
      r.data = inner ? find_value(*inner, tag::kResponse).value_or(Buffer{}) : Buffer{};
    }
    return r;
  }
};
class EcdsaSign : public GeneralAuthenticate {};
class RsaSign : public GeneralAuthenticate {};
class RsaDecrypt : public GeneralAuthenticate {
 protected:
  // The shared OpenSSL RSA key, imported into 9D (generating on the token is slower).
  void SetUp() override {
    GeneralAuthenticate::SetUp();
    EVP_PKEY* key = shared_rsa_key();
    ASSERT_NE(key, nullptr);
    const Buffer data =
        concat({tlv(tag::kImportRsaP, bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR1, 128)),
                tlv(tag::kImportRsaQ, bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR2, 128)),
                tlv(tag::kImportRsaDp, bn_param(key, OSSL_PKEY_PARAM_RSA_EXPONENT1, 128)),
                tlv(tag::kImportRsaDq, bn_param(key, OSSL_PKEY_PARAM_RSA_EXPONENT2, 128)),
                tlv(tag::kImportRsaQinv, bn_param(key, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 128))});
    ASSERT_EQ(authenticate(), Sw::ok);
    ASSERT_EQ(send(Ins::import_key, u8(Algorithm::rsa2048), k9D, data).sw, Sw::ok);
    ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  }
  Response decrypt(const Buffer& ciphertext) { return sign(k9D, Algorithm::rsa2048, ciphertext); }
};
class Ecdh : public GeneralAuthenticate {};

TEST_F(EcdsaSign, P256_SignatureVerifiesWithOpenSsl) {
  Pkey key = generate_key(k9A, Algorithm::ecc_p256);
  ASSERT_TRUE(key);
  const Buffer digest = sha256({'c', 'e', 'r', 't', 'k', 'e', 'y'});
  Response r = sign(k9A, Algorithm::ecc_p256, digest);
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_TRUE(ecdsa_verify(key.get(), digest, r.data));
  Buffer other = digest;
  other[0] ^= 1;
  EXPECT_FALSE(ecdsa_verify(key.get(), other, r.data));
}

TEST_F(EcdsaSign, P384_SignatureVerifiesWithOpenSsl) {
  Pkey key = generate_key(k9A, Algorithm::ecc_p384);
  ASSERT_TRUE(key);
  const Buffer digest = sha384({'c', 'e', 'r', 't', 'k', 'e', 'y'});
  Response r = sign(k9A, Algorithm::ecc_p384, digest);
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_TRUE(ecdsa_verify(key.get(), digest, r.data));
}

TEST_F(EcdsaSign, P384_ShorterDigestAccepted) {
  Pkey key = generate_key(k9A, Algorithm::ecc_p384);
  ASSERT_TRUE(key);
  const Buffer digest = sha256({1});
  Response r = sign(k9A, Algorithm::ecc_p384, digest);
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_TRUE(ecdsa_verify(key.get(), digest, r.data));
}

TEST_F(EcdsaSign, DigestLongerThanCurve_Returns6A80) {
  generate_key(k9A, Algorithm::ecc_p256);
  EXPECT_EQ(sign(k9A, Algorithm::ecc_p256, sha384({1})).sw, Sw::incorrect_data);
  EXPECT_EQ(sign(k9A, Algorithm::ecc_p256, {}).sw, Sw::incorrect_data);
}

TEST_F(EcdsaSign, AlgorithmOtherThanKeys_Returns6A86) {
  generate_key(k9A, Algorithm::ecc_p256);
  EXPECT_EQ(sign(k9A, Algorithm::ecc_p384, sha256({1})).sw, Sw::incorrect_p1p2);
}

TEST_F(EcdsaSign, MalformedTemplate_Returns6A80) {
  generate_key(k9A, Algorithm::ecc_p256);
  const Buffer digest = sha256({1});
  auto ga = [&](const Buffer& inner) {
    return send(Ins::general_authenticate, u8(Algorithm::ecc_p256), k9A,
                tlv(tag::kDynamicAuth, inner))
        .sw;
  };
  EXPECT_EQ(ga(tlv(tag::kChallenge, digest)), Sw::incorrect_data) << "no 82 request";
  EXPECT_EQ(ga(concat({tlv(tag::kResponse, {1}), tlv(tag::kChallenge, digest)})),
            Sw::incorrect_data);
  EXPECT_EQ(ga(concat({tlv(tag::kResponse, {}), tlv(tag::kChallenge, digest),
                       tlv(tag::kExponentiation, {4})})),
            Sw::incorrect_data);
  EXPECT_EQ(
      ga(concat({tlv(tag::kWitness, {}), tlv(tag::kResponse, {}), tlv(tag::kChallenge, digest)})),
      Sw::incorrect_data);
}

TEST_F(EcdsaSign, AttestationOrNonKeyReference_Returns6A88) {
  EXPECT_EQ(sign(u8(KeyRef::attestation), Algorithm::ecc_p256, sha256({1})).sw,
            Sw::reference_not_found);
  EXPECT_EQ(sign(0x42, Algorithm::ecc_p256, sha256({1})).sw, Sw::reference_not_found);
}

TEST_F(RsaSign, Rsa2048_Pkcs1SignatureVerifiesWithOpenSsl) {
  Pkey key = generate_key(k9A, Algorithm::rsa2048);
  ASSERT_TRUE(key);
  const Buffer message = {'r', 'e', 'n', 'e', 'w'};
  Response r = sign(k9A, Algorithm::rsa2048, pkcs1_sha256_block(message, 256));
  ASSERT_EQ(r.sw, Sw::ok);
  ASSERT_EQ(r.data.size(), 256u);
  EXPECT_TRUE(rsa_verify_pkcs1_sha256(key.get(), message, r.data));

  // The same operation as one extended APDU: the whole answer without GET RESPONSE.
  const Buffer data = tlv(
      tag::kDynamicAuth,
      concat({tlv(tag::kResponse, {}), tlv(tag::kChallenge, pkcs1_sha256_block(message, 256))}));
  Response extended = transmit(extended_apdu(protocol::kClaIso, u8(Ins::general_authenticate),
                                             u8(Algorithm::rsa2048), k9A, data, 0x0000));
  EXPECT_EQ(extended.sw, Sw::ok);
  auto inner = find_value(extended.data, tag::kDynamicAuth);
  ASSERT_TRUE(inner);
  EXPECT_EQ(find_value(*inner, tag::kResponse), r.data)
      << "PKCS#1 v1.5 signatures are deterministic";

  // Input that is not exactly the modulus length is refused.
  EXPECT_EQ(sign(k9A, Algorithm::rsa2048, Buffer(255, 0x01)).sw, Sw::incorrect_data);
  EXPECT_EQ(sign(k9A, Algorithm::rsa2048, Buffer(256, 0xFF)).sw, Sw::incorrect_data)
      << "input above the modulus";
}

TEST_F(RsaDecrypt, Pkcs1Ciphertext_RawResultCarriesMessage) {
  const Buffer message = {'s', 'e', 'c', 'r', 'e', 't', ' ', 'k', 'e', 'y'};
  const Buffer ciphertext = rsa_encrypt_pkcs1(shared_rsa_key(), message);
  ASSERT_EQ(ciphertext.size(), 256u);
  Response r = decrypt(ciphertext);
  ASSERT_EQ(r.sw, Sw::ok);
  ASSERT_EQ(r.data.size(), 256u);
  // Raw RSA: the padding 00 02 <nonzero> 00 <message> is the host's to remove.
  EXPECT_EQ(r.data[0], 0x00);
  EXPECT_EQ(r.data[1], 0x02);
  EXPECT_EQ(r.data[256 - message.size() - 1], 0x00);
  EXPECT_EQ(Buffer(r.data.end() - static_cast<std::ptrdiff_t>(message.size()), r.data.end()),
            message);
}

TEST_F(RsaDecrypt, ExponentiationTemplate_Returns6A80) {
  EXPECT_EQ(send(Ins::general_authenticate, u8(Algorithm::rsa2048), k9D,
                 tlv(tag::kDynamicAuth,
                     concat({tlv(tag::kResponse, {}), tlv(tag::kExponentiation, {4})})))
                .sw,
            Sw::incorrect_data);
}

class EcdhCurve : public Ecdh, public ::testing::WithParamInterface<Algorithm> {};

TEST_P(EcdhCurve, SharedSecretMatchesOpenSsl) {
  const Algorithm algorithm = GetParam();
  const char* group = algorithm == Algorithm::ecc_p256 ? "P-256" : "P-384";
  Pkey token_key = generate_key(k9D, algorithm);
  ASSERT_TRUE(token_key);
  Pkey host_key = ec_generate(group);
  ASSERT_TRUE(host_key);
  Response r = derive(k9D, algorithm, ec_point(host_key.get()));
  ASSERT_EQ(r.sw, Sw::ok);
  const Buffer expected = ecdh(host_key.get(), token_key.get());
  EXPECT_EQ(expected.size(), algorithm == Algorithm::ecc_p256 ? 32u : 48u);
  EXPECT_EQ(r.data, expected);
}

INSTANTIATE_TEST_SUITE_P(BothCurves, EcdhCurve,
                         ::testing::Values(Algorithm::ecc_p256, Algorithm::ecc_p384),
                         [](const ::testing::TestParamInfo<Algorithm>& p) {
                           return std::string(p.param == Algorithm::ecc_p256 ? "P256" : "P384");
                         });

TEST_F(Ecdh, PointNotOnCurve_Returns6A80) {
  generate_key(k9D, Algorithm::ecc_p256);
  Buffer point = ec_point(ec_generate("P-256").get());
  point[40] ^= 0x01;
  EXPECT_EQ(derive(k9D, Algorithm::ecc_p256, point).sw, Sw::incorrect_data);
}

TEST_F(Ecdh, PointOfOtherCurve_Returns6A80) {
  generate_key(k9D, Algorithm::ecc_p256);
  EXPECT_EQ(derive(k9D, Algorithm::ecc_p256, ec_point(ec_generate("P-384").get())).sw,
            Sw::incorrect_data);
}

TEST_F(Ecdh, WithoutPin_Returns6982) {
  generate_key(k9D, Algorithm::ecc_p256);
  token().power_off();
  EXPECT_EQ(derive(k9D, Algorithm::ecc_p256, ec_point(ec_generate("P-256").get())).sw,
            Sw::security_status_not_satisfied);
}

}  // namespace
}  // namespace certkey::agent::test
