// ATTEST (agent/applets/piv/attestation.cpp, piv_keys.cpp): the token certifies a key
// generated on it with its attestation key F9, whose self-signed certificate is object
// 5FFF01. OpenSSL must parse both certificates and verify the chain.
#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <certkey/protocol/objects.hpp>

#include "support/token_fixture.hpp"

namespace certkey::agent::test {
namespace {

constexpr std::uint8_t k9A = u8(KeyRef::authentication);
constexpr std::uint8_t k9C = u8(KeyRef::signature);
constexpr std::uint8_t kF9 = u8(KeyRef::attestation);

class Attest : public TokenFixture {
 protected:
  Response attest(std::uint8_t slot) { return send(Ins::attest, slot, 0x00); }

  // The certificate of slot F9, from object 5FFF01 (70 <cert> 71 01 00 FE 00).
  Certificate attestation_certificate() {
    Response r = get_object(protocol::object::kAttestationCert);
    EXPECT_EQ(r.sw, Sw::ok);
    auto der = find_value(r.data, tag::kCertificate);
    EXPECT_TRUE(der);
    EXPECT_EQ(find_value(r.data, tag::kCertInfo), Buffer({0x00}));
    return der ? parse_certificate(*der) : nullptr;
  }

  // Generates a key, attests it, and checks the certificate chains to 5FFF01 and carries
  // the generated public key. Returns the attestation certificate.
  Certificate attest_generated(std::uint8_t slot, Algorithm algorithm) {
    EXPECT_EQ(authenticate(), Sw::ok);
    Response generated = generate(slot, algorithm);
    EXPECT_EQ(generated.sw, Sw::ok);
    Response r = attest(slot);
    EXPECT_EQ(r.sw, Sw::ok);
    Certificate cert = parse_certificate(r.data);
    Certificate issuer = attestation_certificate();
    EXPECT_TRUE(cert) << "OpenSSL parses the attestation certificate";
    EXPECT_TRUE(issuer) << "OpenSSL parses the certificate in 5FFF01";
    if (!cert || !issuer) return nullptr;
    EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(issuer.get())), 1);
    EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(issuer.get())),
              0);
    Pkey expected = public_key(algorithm, generated.data);
    EXPECT_TRUE(expected);
    if (expected) {
      EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), expected.get()), 1);
    }
    return cert;
  }

  // The contents of a Yubico attestation extension 1.3.6.1.4.1.41482.3.<arc>.
  static Buffer yubico_extension(X509* cert, int arc) {
    const std::string oid = "1.3.6.1.4.1.41482.3." + std::to_string(arc);
    ASN1_OBJECT* object = OBJ_txt2obj(oid.c_str(), 1);
    const int index = X509_get_ext_by_OBJ(cert, object, -1);
    ASN1_OBJECT_free(object);
    if (index < 0) return {};
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(cert, index));
    const unsigned char* bytes = ASN1_STRING_get0_data(value);
    return Buffer(bytes, bytes + ASN1_STRING_length(value));
  }
};

TEST_F(Attest, AttestationCertificate_SelfSignedByF9Key) {
  Certificate cert = attestation_certificate();
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_get_version(cert.get()), 2) << "v3";
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(cert.get())), 0);
  Response meta = metadata(kF9);
  ASSERT_EQ(meta.sw, Sw::ok);
  Pkey f9 = public_key(Algorithm::ecc_p256,
                       find_value(meta.data, tag::kMetaPublicKey).value_or(Buffer{}));
  ASSERT_TRUE(f9);
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), f9.get()), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
}

TEST_F(Attest, GeneratedP256_CertificateVerifiesWithAttestationKey) {
  Certificate cert = attest_generated(k9A, Algorithm::ecc_p256);
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_get_version(cert.get()), 2);
  char cn[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  EXPECT_EQ(std::string(cn), "certkey PIV Attestation 9A");
}

TEST_F(Attest, GeneratedP384_CertificateVerifiesWithAttestationKey) {
  EXPECT_TRUE(attest_generated(k9C, Algorithm::ecc_p384));
}

TEST_F(Attest, GeneratedRsa2048_CertificateVerifiesWithAttestationKey) {
  EXPECT_TRUE(attest_generated(k9A, Algorithm::rsa2048));
}

TEST_F(Attest, YubicoExtensions_SerialFirmwareAndPolicy) {
  Certificate cert = attest_generated(k9C, Algorithm::ecc_p256);
  ASSERT_TRUE(cert);
  EXPECT_EQ(yubico_extension(cert.get(), 3), Buffer({5, 7, 0}));
  EXPECT_EQ(yubico_extension(cert.get(), 8),
            Buffer({u8(protocol::PinPolicy::always), u8(protocol::TouchPolicy::never)}));
  const Buffer serial = yubico_extension(cert.get(), 7);
  const unsigned char* p = serial.data();
  ASN1_INTEGER* integer = d2i_ASN1_INTEGER(nullptr, &p, static_cast<long>(serial.size()));
  ASSERT_NE(integer, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(integer), static_cast<long>(kSerial));
  ASN1_INTEGER_free(integer);
}

TEST_F(Attest, ImportedKey_Returns6985) {
  Pkey host = ec_generate("P-256");
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(send(Ins::import_key, u8(Algorithm::ecc_p256), k9A,
                 tlv(tag::kImportEcPrivate, ec_private_scalar(host.get(), 32)))
                .sw,
            Sw::ok);
  EXPECT_EQ(attest(k9A).sw, Sw::conditions_not_satisfied);
}

TEST_F(Attest, EmptyOrInvalidSlot_Rejected) {
  EXPECT_EQ(attest(k9A).sw, Sw::reference_not_found);
  EXPECT_EQ(attest(kF9).sw, Sw::reference_not_found);
  EXPECT_EQ(attest(u8(KeyRef::management)).sw, Sw::reference_not_found);
  EXPECT_EQ(send(Ins::attest, k9A, 0x01).sw, Sw::incorrect_p1p2);
}

TEST_F(Attest, UnparsableAttestationCertificate_Returns6A82) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  ASSERT_EQ(put_object(protocol::object::kAttestationCert, {0x70, 0x03, 0x30, 0x01, 0x00}).sw,
            Sw::ok);
  EXPECT_EQ(attest(k9A).sw, Sw::not_found);
}

TEST_F(Attest, Reset_KeepsAttestationIdentity) {
  Certificate before = attestation_certificate();
  ASSERT_TRUE(before);
  for (int i = 0; i < 3; ++i) verify_pin("000000");
  for (int i = 0; i < 3; ++i) {
    send(Ins::reset_retry_counter, 0x00, u8(KeyRef::pin),
         concat({pin_block("00000000"), pin_block("000000")}));
  }
  ASSERT_EQ(send(Ins::reset, 0x00, 0x00).sw, Sw::ok);
  Certificate after = attestation_certificate();
  ASSERT_TRUE(after);
  EXPECT_EQ(X509_cmp(before.get(), after.get()), 0);
  EXPECT_EQ(metadata(kF9).sw, Sw::ok);
}

}  // namespace
}  // namespace certkey::agent::test
