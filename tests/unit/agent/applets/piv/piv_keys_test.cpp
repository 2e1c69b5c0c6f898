// Key management (agent/applets/piv/piv_keys.cpp): GENERATE ASYMMETRIC KEY PAIR, IMPORT
// KEY, MOVE/DELETE KEY, SWAP SLOTS and GET METADATA. ATTEST is in attestation_test.cpp.
#include <openssl/core_names.h>

#include <certkey/protocol/objects.hpp>
#include <map>
#include <utility>

#include "support/token_fixture.hpp"

namespace certkey::agent::test {
namespace {

using protocol::KeyOrigin;
using protocol::PinPolicy;
using protocol::TouchPolicy;

constexpr std::uint8_t k9A = u8(KeyRef::authentication);
constexpr std::uint8_t k9C = u8(KeyRef::signature);
constexpr std::uint8_t k82 = u8(KeyRef::retired_first);
constexpr std::uint8_t k95 = u8(KeyRef::retired_last);
constexpr std::uint8_t kF9 = u8(KeyRef::attestation);

class KeyTest : public TokenFixture {
 protected:
  Buffer meta(std::uint8_t reference, std::uint16_t field) {
    Response r = metadata(reference);
    EXPECT_EQ(r.sw, Sw::ok) << "metadata of " << int{reference};
    return find_value(r.data, field).value_or(Buffer{});
  }
  Buffer point_of(std::uint8_t slot) {
    return find_value(meta(slot, tag::kMetaPublicKey), tag::kEcPoint).value_or(Buffer{});
  }
  Sw move(std::uint8_t to, std::uint8_t from) { return send(Ins::move_key, to, from).sw; }
  Sw import_ec(std::uint8_t slot, Algorithm algorithm, const Buffer& scalar,
               const Buffer& extra = {}) {
    return send(Ins::import_key, u8(algorithm), slot,
                concat({tlv(tag::kImportEcPrivate, scalar), extra}))
        .sw;
  }
  static Buffer rsa_parts(EVP_PKEY* key) {
    return concat({tlv(tag::kImportRsaP, bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR1, 128)),
                   tlv(tag::kImportRsaQ, bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR2, 128)),
                   tlv(tag::kImportRsaDp, bn_param(key, OSSL_PKEY_PARAM_RSA_EXPONENT1, 128)),
                   tlv(tag::kImportRsaDq, bn_param(key, OSSL_PKEY_PARAM_RSA_EXPONENT2, 128)),
                   tlv(tag::kImportRsaQinv, bn_param(key, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 128))});
  }
};
class GenerateKey : public KeyTest {};
class ImportKey : public KeyTest {};
class MoveKey : public KeyTest {};
class GetMetadata : public KeyTest {};

class SwapSlots : public KeyTest {
 protected:
  static constexpr std::uint8_t k83 = 0x83;
  static constexpr std::uint8_t k94 = 0x94;
  static constexpr std::uint8_t k9D = u8(KeyRef::key_management);
  static constexpr std::uint8_t k9E = u8(KeyRef::card_authentication);

  Sw swap(std::uint8_t a, std::uint8_t b) { return send(CertkeyIns::swap_slots, a, b).sw; }
  static std::uint32_t certificate_of(std::uint8_t slot) {
    return protocol::certificate_object_for_slot(slot);
  }
  // The slot's key signs (the PIN verified just before, for keys with PIN policy always), and
  // the signature verifies with `expected`.
  void expect_signs_for(std::uint8_t slot, Algorithm algorithm, EVP_PKEY* expected) {
    ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
    const Buffer digest =
        algorithm == Algorithm::ecc_p384 ? sha384({'s', 'w'}) : sha256({'s', 'w'});
    Response r = sign(slot, algorithm, digest);
    ASSERT_EQ(r.sw, Sw::ok) << "slot " << std::hex << int{slot};
    EXPECT_TRUE(ecdsa_verify(expected, digest, r.data)) << "slot " << std::hex << int{slot};
  }
};

// ---- GENERATE ----------------------------------------------------------------------------

TEST_F(GenerateKey, WithoutManagementKey_Returns6982) {
  EXPECT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::security_status_not_satisfied);
}

TEST_F(GenerateKey, P256_ReturnsUncompressedPointAndStoresKey) {
  ASSERT_EQ(authenticate(), Sw::ok);
  Response r = generate(k9A, Algorithm::ecc_p256);
  ASSERT_EQ(r.sw, Sw::ok);
  auto point = find_value(r.data, tag::kEcPoint);
  ASSERT_TRUE(point);
  EXPECT_EQ(point->size(), 65u);
  EXPECT_EQ((*point)[0], 0x04);
  EXPECT_TRUE(public_key(Algorithm::ecc_p256, r.data)) << "a point on P-256";
  EXPECT_EQ(point_of(k9A), *point);
}

TEST_F(GenerateKey, P384_ReturnsUncompressedPoint) {
  ASSERT_EQ(authenticate(), Sw::ok);
  Response r = generate(k9C, Algorithm::ecc_p384);
  ASSERT_EQ(r.sw, Sw::ok);
  auto point = find_value(r.data, tag::kEcPoint);
  ASSERT_TRUE(point);
  EXPECT_EQ(point->size(), 97u);
  EXPECT_TRUE(public_key(Algorithm::ecc_p384, r.data));
}

TEST_F(GenerateKey, SecondGenerate_ReplacesKey) {
  ASSERT_EQ(authenticate(), Sw::ok);
  Response first = generate(k9A, Algorithm::ecc_p256);
  Response second = generate(k9A, Algorithm::ecc_p256);
  ASSERT_EQ(second.sw, Sw::ok);
  EXPECT_NE(first.data, second.data);
  EXPECT_EQ(point_of(k9A), find_value(second.data, tag::kEcPoint));
}

TEST_F(GenerateKey, RetiredSlots_Accepted) {
  ASSERT_EQ(authenticate(), Sw::ok);
  EXPECT_EQ(generate(k82, Algorithm::ecc_p256).sw, Sw::ok);
  EXPECT_EQ(generate(k95, Algorithm::ecc_p256).sw, Sw::ok);
}

TEST_F(GenerateKey, IncrementsChangeCounterAndPersists) {
  ASSERT_EQ(authenticate(), Sw::ok);
  const std::uint32_t before = change_counter();
  Response r = generate(k9A, Algorithm::ecc_p256);
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(change_counter(), before + 1);
  reboot();
  EXPECT_EQ(point_of(k9A), find_value(r.data, tag::kEcPoint));
}

TEST_F(GenerateKey, StorageFailure_Returns6581AndSlotStaysEmpty) {
  ASSERT_EQ(authenticate(), Sw::ok);
  token().flash().fail_writes_from(1);
  EXPECT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::memory_failure);
  EXPECT_EQ(metadata(k9A).sw, Sw::reference_not_found);
}

TEST_F(GenerateKey, BadSlotOrTemplate_Rejected) {
  ASSERT_EQ(authenticate(), Sw::ok);
  EXPECT_EQ(generate(kF9, Algorithm::ecc_p256).sw, Sw::reference_not_found);
  EXPECT_EQ(generate(u8(KeyRef::management), Algorithm::ecc_p256).sw, Sw::reference_not_found);
  EXPECT_EQ(generate(k9A, Algorithm::aes128).sw, Sw::incorrect_data);
  EXPECT_EQ(generate(k9A, Algorithm::rsa1024).sw, Sw::incorrect_data);
  EXPECT_EQ(generate(k9A, Algorithm::ecc_p256, tlv(tag::kPinPolicy, {0x04})).sw,
            Sw::incorrect_data);
  EXPECT_EQ(generate(k9A, Algorithm::ecc_p256, tlv(0x99, {0x01})).sw, Sw::incorrect_data);
  EXPECT_EQ(send(Ins::generate_asymmetric_key_pair, 0x00, k9A, tlv(tag::kControlReference, {})).sw,
            Sw::incorrect_data);
  EXPECT_EQ(send(Ins::generate_asymmetric_key_pair, 0x01, k9A,
                 tlv(tag::kControlReference, tlv(tag::kAlgorithm, {u8(Algorithm::ecc_p256)})))
                .sw,
            Sw::incorrect_p1p2);
  EXPECT_EQ(metadata(k9A).sw, Sw::reference_not_found);
}

// ---- IMPORT ------------------------------------------------------------------------------

TEST_F(ImportKey, EcP256_MetadataAndSignatureMatchOpenSslKey) {
  Pkey host = ec_generate("P-256");
  ASSERT_TRUE(host);
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(import_ec(k9A, Algorithm::ecc_p256, ec_private_scalar(host.get(), 32)), Sw::ok);
  EXPECT_EQ(meta(k9A, tag::kMetaOrigin), Buffer({u8(KeyOrigin::imported)}));
  EXPECT_EQ(point_of(k9A), ec_point(host.get()));

  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  const Buffer digest = sha256({'i', 'm', 'p'});
  Response r = sign(k9A, Algorithm::ecc_p256, digest);
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_TRUE(ecdsa_verify(host.get(), digest, r.data));
}

TEST_F(ImportKey, EcP384_WithPinPolicy) {
  Pkey host = ec_generate("P-384");
  ASSERT_TRUE(host);
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(import_ec(k9C, Algorithm::ecc_p384, ec_private_scalar(host.get(), 48),
                      tlv(tag::kPinPolicy, {u8(PinPolicy::never)})),
            Sw::ok);
  EXPECT_EQ(point_of(k9C), ec_point(host.get()));
  EXPECT_EQ(meta(k9C, tag::kMetaPolicy), Buffer({u8(PinPolicy::never), u8(TouchPolicy::never)}));
  const Buffer digest = sha384({'i', 'm', 'p'});
  Response r = sign(k9C, Algorithm::ecc_p384, digest);
  ASSERT_EQ(r.sw, Sw::ok) << "PIN policy never";
  EXPECT_TRUE(ecdsa_verify(host.get(), digest, r.data));
}

TEST_F(ImportKey, Rsa2048_ModulusAndSignatureMatchOpenSslKey) {
  EVP_PKEY* host = shared_rsa_key();
  ASSERT_NE(host, nullptr);
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(send(Ins::import_key, u8(Algorithm::rsa2048), k9A, rsa_parts(host)).sw, Sw::ok);
  const Buffer key = meta(k9A, tag::kMetaPublicKey);
  EXPECT_EQ(find_value(key, tag::kRsaModulus), bn_param(host, OSSL_PKEY_PARAM_RSA_N, 256));
  EXPECT_EQ(find_value(key, tag::kRsaExponent), Buffer({0x01, 0x00, 0x01}));
  EXPECT_EQ(meta(k9A, tag::kMetaOrigin), Buffer({u8(KeyOrigin::imported)}));

  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  const Buffer message = {'e', 's', 'c', 'r', 'o', 'w'};
  Response r = sign(k9A, Algorithm::rsa2048, pkcs1_sha256_block(message, 256));
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_TRUE(rsa_verify_pkcs1_sha256(host, message, r.data));
}

TEST_F(ImportKey, RsaInconsistentParts_Returns6A80) {
  EVP_PKEY* host = shared_rsa_key();
  ASSERT_EQ(authenticate(), Sw::ok);
  Buffer qinv = bn_param(host, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 128);
  qinv[127] ^= 0x01;
  const Buffer data =
      concat({tlv(tag::kImportRsaP, bn_param(host, OSSL_PKEY_PARAM_RSA_FACTOR1, 128)),
              tlv(tag::kImportRsaQ, bn_param(host, OSSL_PKEY_PARAM_RSA_FACTOR2, 128)),
              tlv(tag::kImportRsaDp, bn_param(host, OSSL_PKEY_PARAM_RSA_EXPONENT1, 128)),
              tlv(tag::kImportRsaDq, bn_param(host, OSSL_PKEY_PARAM_RSA_EXPONENT2, 128)),
              tlv(tag::kImportRsaQinv, qinv)});
  EXPECT_EQ(send(Ins::import_key, u8(Algorithm::rsa2048), k9A, data).sw, Sw::incorrect_data);
  EXPECT_EQ(metadata(k9A).sw, Sw::reference_not_found);
}

TEST_F(ImportKey, RsaMissingPart_Returns6A80) {
  EVP_PKEY* host = shared_rsa_key();
  ASSERT_EQ(authenticate(), Sw::ok);
  const Buffer data =
      concat({tlv(tag::kImportRsaP, bn_param(host, OSSL_PKEY_PARAM_RSA_FACTOR1, 128)),
              tlv(tag::kImportRsaQ, bn_param(host, OSSL_PKEY_PARAM_RSA_FACTOR2, 128))});
  EXPECT_EQ(send(Ins::import_key, u8(Algorithm::rsa2048), k9A, data).sw, Sw::incorrect_data);
}

TEST_F(ImportKey, EcScalarOutOfRange_Returns6A80) {
  ASSERT_EQ(authenticate(), Sw::ok);
  EXPECT_EQ(import_ec(k9A, Algorithm::ecc_p256, Buffer(32, 0x00)), Sw::incorrect_data);
  EXPECT_EQ(import_ec(k9A, Algorithm::ecc_p256, Buffer(32, 0xFF)), Sw::incorrect_data);
  EXPECT_EQ(import_ec(k9A, Algorithm::ecc_p256, Buffer(31, 0x01)), Sw::incorrect_data);
  EXPECT_EQ(import_ec(k9A, Algorithm::ecc_p384, Buffer(32, 0x01)), Sw::incorrect_data);
  EXPECT_EQ(metadata(k9A).sw, Sw::reference_not_found);
}

TEST_F(ImportKey, WithoutManagementKeyOrBadReference_Refused) {
  EXPECT_EQ(import_ec(k9A, Algorithm::ecc_p256, Buffer(32, 0x01)),
            Sw::security_status_not_satisfied);
  ASSERT_EQ(authenticate(), Sw::ok);
  EXPECT_EQ(import_ec(u8(KeyRef::management), Algorithm::ecc_p256, Buffer(32, 0x01)),
            Sw::reference_not_found);
  EXPECT_EQ(import_ec(k9A, Algorithm::aes128, Buffer(32, 0x01)), Sw::incorrect_p1p2);
  EXPECT_EQ(send(Ins::import_key, u8(Algorithm::rsa2048), kF9, rsa_parts(shared_rsa_key())).sw,
            Sw::incorrect_p1p2)
      << "the attestation key must be EC";
}

// ---- MOVE / DELETE -----------------------------------------------------------------------

TEST_F(MoveKey, ToEmptyRetiredSlot_KeyMoves) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  const Buffer point = point_of(k9A);
  const std::uint32_t before = change_counter();
  ASSERT_EQ(move(k82, k9A), Sw::ok);
  EXPECT_EQ(change_counter(), before + 1);
  EXPECT_EQ(metadata(k9A).sw, Sw::reference_not_found);
  EXPECT_EQ(point_of(k82), point);

  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  const Buffer digest = sha256({'m', 'v'});
  Response r = sign(k82, Algorithm::ecc_p256, digest);
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_TRUE(ecdsa_verify(ec_public_key("P-256", point).get(), digest, r.data));
}

TEST_F(MoveKey, OccupiedDestination_Returns6985AndKeepsBoth) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  ASSERT_EQ(generate(k82, Algorithm::ecc_p256).sw, Sw::ok);
  const Buffer a = point_of(k9A), b = point_of(k82);
  EXPECT_EQ(move(k82, k9A), Sw::conditions_not_satisfied);
  EXPECT_EQ(point_of(k9A), a);
  EXPECT_EQ(point_of(k82), b);
}

TEST_F(MoveKey, DeleteWithP1FF_RemovesKey) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  ASSERT_EQ(move(protocol::kMoveKeyDelete, k9A), Sw::ok);
  EXPECT_EQ(metadata(k9A).sw, Sw::reference_not_found);
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  EXPECT_EQ(sign(k9A, Algorithm::ecc_p256, sha256({1})).sw, Sw::reference_not_found);
  reboot();
  EXPECT_EQ(metadata(k9A).sw, Sw::reference_not_found);
}

TEST_F(MoveKey, EmptySource_Returns6A88) {
  ASSERT_EQ(authenticate(), Sw::ok);
  EXPECT_EQ(move(k82, k9A), Sw::reference_not_found);
  EXPECT_EQ(move(protocol::kMoveKeyDelete, k9A), Sw::reference_not_found);
}

TEST_F(MoveKey, WithoutManagementKeyOrBadSlots_Refused) {
  EXPECT_EQ(move(k82, k9A), Sw::security_status_not_satisfied);
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  EXPECT_EQ(move(k9A, k9A), Sw::incorrect_p1p2);
  EXPECT_EQ(move(kF9, k9A), Sw::incorrect_p1p2);
  EXPECT_EQ(move(k82, kF9), Sw::incorrect_p1p2) << "the attestation key stays";
  EXPECT_EQ(move(protocol::kMoveKeyDelete, kF9), Sw::incorrect_p1p2);
  EXPECT_EQ(move(0x42, k9A), Sw::incorrect_p1p2);
}

// ---- SWAP SLOTS --------------------------------------------------------------------------

TEST_F(SwapSlots, BothSlotsFull_KeysCertificatesAndMetadataExchangeInOneCommit) {
  ASSERT_EQ(authenticate(), Sw::ok);
  // 9A: an imported P-256 key with touch policy "cached"; 82: a generated P-384 key with PIN
  // policy "never". Different algorithms, policies and origins, so that each visibly follows
  // its key.
  Pkey host = ec_generate("P-256");
  ASSERT_EQ(import_ec(k9A, Algorithm::ecc_p256, ec_private_scalar(host.get(), 32),
                      tlv(tag::kTouchPolicy, {u8(TouchPolicy::cached)})),
            Sw::ok);
  Response generated =
      generate(k82, Algorithm::ecc_p384, tlv(tag::kPinPolicy, {u8(PinPolicy::never)}));
  ASSERT_EQ(generated.sw, Sw::ok);
  Pkey retired = public_key(Algorithm::ecc_p384, generated.data);
  ASSERT_TRUE(retired);
  const Buffer certificate_9a = random_bytes(1500), certificate_82 = random_bytes(3000);
  ASSERT_EQ(put_object(certificate_of(k9A), certificate_9a).sw, Sw::ok);
  ASSERT_EQ(put_object(certificate_of(k82), certificate_82).sw, Sw::ok);
  const Buffer metadata_9a = metadata(k9A).data, metadata_82 = metadata(k82).data;
  const std::uint32_t before = change_counter();

  ASSERT_EQ(swap(k9A, k82), Sw::ok);

  EXPECT_EQ(change_counter(), before + 1) << "one commit, one step of the change counter";
  auto check = [&] {
    // 9A and 82 both default to PIN policy "once", so the metadata moves unchanged.
    EXPECT_EQ(metadata(k9A).data, metadata_82);
    EXPECT_EQ(metadata(k82).data, metadata_9a);
    EXPECT_EQ(meta(k9A, tag::kMetaOrigin), Buffer({u8(KeyOrigin::generated)}));
    EXPECT_EQ(meta(k82, tag::kMetaPolicy), Buffer({u8(PinPolicy::once), u8(TouchPolicy::cached)}));
    EXPECT_EQ(get_object(certificate_of(k9A)).data, certificate_82);
    EXPECT_EQ(get_object(certificate_of(k82)).data, certificate_9a);
    expect_signs_for(k9A, Algorithm::ecc_p384, retired.get());
    expect_signs_for(k82, Algorithm::ecc_p256, host.get());
  };
  check();
  reboot();
  check();
  EXPECT_EQ(change_counter(), before + 1);
}

TEST_F(SwapSlots, OneSideEmpty_PairMovesOverAndItsSlotIsLeftEmpty) {
  ASSERT_EQ(authenticate(), Sw::ok);
  Response generated = generate(k83, Algorithm::ecc_p256);
  ASSERT_EQ(generated.sw, Sw::ok);
  const Buffer certificate = random_bytes(800);
  ASSERT_EQ(put_object(certificate_of(k83), certificate).sw, Sw::ok);
  const std::uint32_t before = change_counter();

  ASSERT_EQ(swap(k9C, k83), Sw::ok);
  EXPECT_EQ(change_counter(), before + 1);
  EXPECT_EQ(point_of(k9C), find_value(generated.data, tag::kEcPoint));
  EXPECT_EQ(get_object(certificate_of(k9C)).data, certificate);
  EXPECT_EQ(metadata(k83).sw, Sw::reference_not_found);
  EXPECT_EQ(get_object(certificate_of(k83)).sw, Sw::not_found);
  expect_signs_for(k9C, Algorithm::ecc_p256, public_key(Algorithm::ecc_p256, generated.data).get());

  // Swapping again, naming the slots the other way round, undoes it.
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(swap(k83, k9C), Sw::ok);
  EXPECT_EQ(change_counter(), before + 2);
  EXPECT_EQ(point_of(k83), find_value(generated.data, tag::kEcPoint));
  EXPECT_EQ(get_object(certificate_of(k83)).data, certificate);
  EXPECT_EQ(metadata(k9C).sw, Sw::reference_not_found);
  EXPECT_EQ(get_object(certificate_of(k9C)).sw, Sw::not_found);
}

TEST_F(SwapSlots, KeyOnOneSideCertificateOnTheOther_EachMovesAcross) {
  ASSERT_EQ(authenticate(), Sw::ok);
  Response generated = generate(k9D, Algorithm::ecc_p256);
  ASSERT_EQ(generated.sw, Sw::ok);
  const Buffer certificate = random_bytes(600);
  ASSERT_EQ(put_object(certificate_of(k9E), certificate).sw, Sw::ok);
  ASSERT_EQ(swap(k9D, k9E), Sw::ok);
  EXPECT_EQ(metadata(k9D).sw, Sw::reference_not_found);
  EXPECT_EQ(get_object(certificate_of(k9D)).data, certificate);
  EXPECT_EQ(point_of(k9E), find_value(generated.data, tag::kEcPoint));
  EXPECT_EQ(get_object(certificate_of(k9E)).sw, Sw::not_found);
}

TEST_F(SwapSlots, CertificatesFollowTheirSlotsObjects) {
  // The certificate object of each slot (5FC105, 5FC10A, 5FC10B, 5FC101, 5FC10D-5FC120).
  ASSERT_EQ(authenticate(), Sw::ok);
  const std::pair<std::uint8_t, std::uint8_t> pairs[] = {
      {k9A, k9C}, {k9D, k9E}, {k82, k95}, {k83, k94}};
  std::map<std::uint8_t, Buffer> content;
  for (auto [a, b] : pairs) {
    for (std::uint8_t slot : {a, b}) {
      content[slot] = random_bytes(40);
      ASSERT_EQ(put_object(certificate_of(slot), content[slot]).sw, Sw::ok);
    }
  }
  const Buffer chuid = get_object(protocol::object::kChuid).data;
  for (auto [a, b] : pairs) ASSERT_EQ(swap(a, b), Sw::ok);
  for (auto [a, b] : pairs) {
    EXPECT_EQ(get_object(certificate_of(a)).data, content[b]) << std::hex << int{a};
    EXPECT_EQ(get_object(certificate_of(b)).data, content[a]) << std::hex << int{b};
  }
  EXPECT_EQ(get_object(protocol::object::kChuid).data, chuid) << "other objects stay";
  EXPECT_EQ(get_object(protocol::object::kAttestationCert).sw, Sw::ok);
}

TEST_F(SwapSlots, DefaultPinPolicy_IsThatOfTheSlotTheKeyIsIn) {
  // A key generated without a PIN policy keeps "default", which each slot resolves its own
  // way (as after MOVE KEY): a new key swapped into 9C takes 9C's "always".
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k82, Algorithm::ecc_p256).sw, Sw::ok);
  EXPECT_EQ(meta(k82, tag::kMetaPolicy), Buffer({u8(PinPolicy::once), u8(TouchPolicy::never)}));
  ASSERT_EQ(swap(k9C, k82), Sw::ok);
  EXPECT_EQ(meta(k9C, tag::kMetaPolicy), Buffer({u8(PinPolicy::always), u8(TouchPolicy::never)}));
}

TEST_F(SwapSlots, BothSlotsEmpty_Returns6A88AndWritesNothing) {
  ASSERT_EQ(authenticate(), Sw::ok);
  const std::uint32_t before = change_counter();
  const std::uint32_t sequence = token().store().sequence();
  EXPECT_EQ(swap(k9A, k82), Sw::reference_not_found);
  EXPECT_EQ(change_counter(), before);
  EXPECT_EQ(token().store().sequence(), sequence);
}

TEST_F(SwapSlots, WithoutManagementKey_Returns6982AndNothingMoves) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  const Buffer point = point_of(k9A);
  reboot();  // the management key's authentication ends with the power
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  const std::uint32_t before = change_counter();
  EXPECT_EQ(swap(k9A, k82), Sw::security_status_not_satisfied);
  EXPECT_EQ(point_of(k9A), point);
  EXPECT_EQ(metadata(k82).sw, Sw::reference_not_found);
  EXPECT_EQ(change_counter(), before);
}

TEST_F(SwapSlots, BadReferencesOrData_Refused) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  const std::uint32_t before = change_counter();
  for (std::uint8_t bad :
       {u8(KeyRef::management), kF9, u8(KeyRef::pin), u8(KeyRef::puk), std::uint8_t{0x81},
        std::uint8_t{0x96}, std::uint8_t{0x9B}, std::uint8_t{0x00}, std::uint8_t{0xFF}}) {
    EXPECT_EQ(swap(k9A, bad), Sw::incorrect_p1p2) << std::hex << int{bad};
    EXPECT_EQ(swap(bad, k9A), Sw::incorrect_p1p2) << std::hex << int{bad};
  }
  EXPECT_EQ(swap(k9A, k9A), Sw::incorrect_p1p2) << "equal references";
  EXPECT_EQ(swap(k82, k82), Sw::incorrect_p1p2) << "equal references";
  EXPECT_EQ(send(CertkeyIns::swap_slots, k9A, k82, {0x00}).sw, Sw::wrong_length)
      << "the command has no data";
  EXPECT_EQ(change_counter(), before);
  EXPECT_EQ(metadata(k82).sw, Sw::reference_not_found);
  EXPECT_EQ(metadata(k9A).sw, Sw::ok);
}

TEST_F(SwapSlots, StorageFailure_Returns6581AndNothingMoves) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  const Buffer point = point_of(k9A);
  token().flash().fail_writes_from(1);
  EXPECT_EQ(swap(k9A, k82), Sw::memory_failure);
  reboot();
  EXPECT_EQ(point_of(k9A), point);
  EXPECT_EQ(metadata(k82).sw, Sw::reference_not_found);
}

TEST_F(SwapSlots, ListKeys_ShowsTheSwappedSlots) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p256).sw, Sw::ok);
  ASSERT_EQ(put_object(certificate_of(k9A), random_bytes(300)).sw, Sw::ok);
  ASSERT_EQ(swap(k95, k9A), Sw::ok);
  Response r = send(CertkeyIns::list_keys);
  ASSERT_EQ(r.sw, Sw::ok);
  ASSERT_EQ(r.data.size(), 2 * protocol::kListKeysEntrySize) << "95 and F9";
  EXPECT_EQ(r.data[0], k95);
  EXPECT_EQ(r.data[1], u8(Algorithm::ecc_p256));
  EXPECT_EQ(r.data[5] * 256 + r.data[6], 300);
  EXPECT_EQ(r.data[protocol::kListKeysEntrySize], kF9);
}

// ---- GET METADATA ------------------------------------------------------------------------

TEST_F(GetMetadata, Pin_DefaultFlagAndRetries) {
  Response r = metadata(u8(KeyRef::pin));
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(find_value(r.data, tag::kMetaAlgorithm), Buffer({0xFF}));
  EXPECT_EQ(find_value(r.data, tag::kMetaIsDefault), Buffer({0x01}));
  EXPECT_EQ(find_value(r.data, tag::kMetaRetries), Buffer({3, 3}));
}

TEST_F(GetMetadata, Puk_DefaultFlagAndRetries) {
  ASSERT_EQ(send(Ins::reset_retry_counter, 0x00, u8(KeyRef::pin),
                 concat({pin_block("00000000"), pin_block(kDefaultPin)}))
                .sw,
            protocol::sw_retries_left(2));
  Response r = metadata(u8(KeyRef::puk));
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(find_value(r.data, tag::kMetaAlgorithm), Buffer({0xFF}));
  EXPECT_EQ(find_value(r.data, tag::kMetaIsDefault), Buffer({0x01}));
  EXPECT_EQ(find_value(r.data, tag::kMetaRetries), Buffer({3, 2}));
}

TEST_F(GetMetadata, ManagementKey_AlgorithmPolicyDefaultRetries) {
  Response r = metadata(u8(KeyRef::management));
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(find_value(r.data, tag::kMetaAlgorithm), Buffer({u8(Algorithm::tdes)}));
  EXPECT_EQ(find_value(r.data, tag::kMetaPolicy), Buffer({0x00, u8(TouchPolicy::never)}));
  EXPECT_EQ(find_value(r.data, tag::kMetaIsDefault), Buffer({0x01}));
  // The management key has a retry counter like the PIN (DESIGN.md section 3); it is shown.
  EXPECT_EQ(find_value(r.data, tag::kMetaRetries), Buffer({10, 10}));
}

TEST_F(GetMetadata, GeneratedKey_AlgorithmPolicyOriginPublicKey) {
  ASSERT_EQ(authenticate(), Sw::ok);
  Response generated = generate(k9C, Algorithm::ecc_p256);
  ASSERT_EQ(generated.sw, Sw::ok);
  Response r = metadata(k9C);
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(find_value(r.data, tag::kMetaAlgorithm), Buffer({u8(Algorithm::ecc_p256)}));
  EXPECT_EQ(find_value(r.data, tag::kMetaPolicy),
            Buffer({u8(PinPolicy::always), u8(TouchPolicy::never)}))
      << "9C defaults to PIN always";
  EXPECT_EQ(find_value(r.data, tag::kMetaOrigin), Buffer({u8(KeyOrigin::generated)}));
  EXPECT_EQ(find_value(r.data, tag::kMetaPublicKey), generated.data);
}

TEST_F(GetMetadata, SlotDefaults_PinOnceFor9A) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p384).sw, Sw::ok);
  EXPECT_EQ(meta(k9A, tag::kMetaPolicy), Buffer({u8(PinPolicy::once), u8(TouchPolicy::never)}));
  EXPECT_EQ(meta(k9A, tag::kMetaAlgorithm), Buffer({u8(Algorithm::ecc_p384)}));
}

TEST_F(GetMetadata, AttestationKey_P256PinNever) {
  Response r = metadata(kF9);
  ASSERT_EQ(r.sw, Sw::ok);
  EXPECT_EQ(find_value(r.data, tag::kMetaAlgorithm), Buffer({u8(Algorithm::ecc_p256)}));
  EXPECT_EQ(find_value(r.data, tag::kMetaPolicy),
            Buffer({u8(PinPolicy::never), u8(TouchPolicy::never)}));
  auto key = find_value(r.data, tag::kMetaPublicKey);
  ASSERT_TRUE(key);
  EXPECT_TRUE(public_key(Algorithm::ecc_p256, *key));
}

TEST_F(GetMetadata, EmptyOrUnknownReference_Rejected) {
  EXPECT_EQ(metadata(k9A).sw, Sw::reference_not_found);
  EXPECT_EQ(metadata(0x42).sw, Sw::reference_not_found);
  EXPECT_EQ(send(Ins::get_metadata, 0x01, u8(KeyRef::pin)).sw, Sw::incorrect_p1p2);
}

}  // namespace
}  // namespace certkey::agent::test
