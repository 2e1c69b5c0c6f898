// No heap in the command path (DESIGN.md section 2): this binary replaces the global
// operator new/delete with counting versions and asserts that no command allocates while
// SimToken::transmit runs. OpenSSL in hal-host allocates with malloc, not operator new, so
// only the C++ firmware (core, applets, host HAL glue) is measured. The test's own helpers
// allocate freely outside transmit.
#include <atomic>
#include <cstdlib>
#include <new>

#include <openssl/core_names.h>

#include <certkey/protocol/objects.hpp>

#include "support/token_fixture.hpp"

namespace {

std::atomic<bool> g_measuring{false};
std::atomic<std::size_t> g_allocations{0};

void* counted_allocation(std::size_t size, std::size_t alignment) {
  if (g_measuring.load(std::memory_order_relaxed))
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  void* p = alignment > alignof(std::max_align_t)
                ? std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)
                : std::malloc(size);
  return p;
}

void* throwing_allocation(std::size_t size, std::size_t alignment = 0) {
  void* p = counted_allocation(size, alignment);
  if (!p) throw std::bad_alloc();
  return p;
}

}  // namespace

// The replaceable global allocation functions (all of them, so none bypasses the count).
void* operator new(std::size_t size) { return throwing_allocation(size); }
void* operator new[](std::size_t size) { return throwing_allocation(size); }
void* operator new(std::size_t size, std::align_val_t a) {
  return throwing_allocation(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return throwing_allocation(size, static_cast<std::size_t>(a));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocation(size, 0);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocation(size, 0);
}
void* operator new(std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_allocation(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return counted_allocation(size, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace certkey::agent::test {
namespace {

constexpr std::uint8_t k9A = u8(KeyRef::authentication);
constexpr std::uint8_t k9D = u8(KeyRef::key_management);

// Every command after boot goes through exchange(), which counts operator-new calls made
// while the token processes it and remembers which instructions allocated.
class NoHeap : public TokenFixture {
 protected:
  void SetUp() override {
    TokenFixture::SetUp();  // boot and SELECT are set-up, not measured
    measure_ = true;
  }
  std::size_t exchange(Bytes command, MutableBytes response) override {
    if (!measure_) return TokenFixture::exchange(command, response);
    const std::size_t before = g_allocations.load();
    g_measuring = true;
    const std::size_t n = TokenFixture::exchange(command, response);
    g_measuring = false;
    const std::size_t allocated = g_allocations.load() - before;
    if (allocated != 0) {
      allocations_ += allocated;
      allocating_ins_.push_back(command.size() > 1 ? command[1] : 0);  // outside the measurement
    }
    return n;
  }
  void expect_no_allocation() {
    EXPECT_EQ(allocations_, 0u) << "operator new called while processing INS "
                                << ::testing::PrintToString(allocating_ins_);
  }

  bool measure_ = false;
  std::size_t allocations_ = 0;
  Buffer allocating_ins_;
};

TEST_F(NoHeap, CountingOperatorNew_IsInstalled) {
  g_allocations = 0;
  g_measuring = true;
  int* p = new int(1);
  g_measuring = false;
  delete p;
  EXPECT_EQ(g_allocations.load(), 1u) << "the replacement operator new is not the one in use";
}

TEST_F(NoHeap, RepresentativeSession_NoAllocationInTransmit) {
  // An existing key to sign with, generated before the session.
  measure_ = false;
  ASSERT_EQ(authenticate(), Sw::ok);
  Response generated = generate(k9A, Algorithm::ecc_p256);
  ASSERT_EQ(generated.sw, Sw::ok);
  token().power_off();
  measure_ = true;

  ASSERT_EQ(select().sw, Sw::ok);
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  ASSERT_EQ(authenticate(), Sw::ok);
  const Buffer certificate = random_bytes(1200);
  ASSERT_EQ(put_object(protocol::object::kAuthenticationCert, certificate).sw, Sw::ok);  // chained
  Response read = get_object(protocol::object::kAuthenticationCert);  // 61xx + GET RESPONSE
  ASSERT_EQ(read.sw, Sw::ok);
  EXPECT_EQ(read.data, certificate);
  const Buffer digest = sha256({'n', 'o', ' ', 'h', 'e', 'a', 'p'});
  Response signature = sign(k9A, Algorithm::ecc_p256, digest);
  ASSERT_EQ(signature.sw, Sw::ok);
  EXPECT_TRUE(
      ecdsa_verify(public_key(Algorithm::ecc_p256, generated.data).get(), digest, signature.data));
  ASSERT_EQ(token_info().sw, Sw::ok);

  expect_no_allocation();
}

TEST_F(NoHeap, KeyManagementAndAdministration_NoAllocationInTransmit) {
  ASSERT_EQ(authenticate(), Sw::ok);
  ASSERT_EQ(verify_pin(kDefaultPin), Sw::ok);
  ASSERT_EQ(generate(k9A, Algorithm::ecc_p384).sw, Sw::ok);
  ASSERT_EQ(send(Ins::attest, k9A, 0x00).sw, Sw::ok);
  ASSERT_EQ(metadata(k9A).sw, Sw::ok);
  ASSERT_EQ(metadata(u8(KeyRef::pin)).sw, Sw::ok);
  ASSERT_EQ(metadata(u8(KeyRef::management)).sw, Sw::ok);
  ASSERT_EQ(put_object(protocol::object::kAuthenticationCert, random_bytes(700)).sw, Sw::ok);
  ASSERT_EQ(send(CertkeyIns::swap_slots, k9A, u8(KeyRef::retired_first)).sw, Sw::ok);
  ASSERT_EQ(send(CertkeyIns::swap_slots, u8(KeyRef::retired_first), k9A).sw, Sw::ok);
  ASSERT_EQ(send(Ins::move_key, u8(KeyRef::retired_first), k9A).sw, Sw::ok);
  ASSERT_EQ(send(Ins::move_key, protocol::kMoveKeyDelete, u8(KeyRef::retired_first)).sw, Sw::ok);

  EVP_PKEY* rsa = shared_rsa_key();
  ASSERT_NE(rsa, nullptr);
  ASSERT_EQ(
      send(Ins::import_key, u8(Algorithm::rsa2048), k9D,
           concat({tlv(tag::kImportRsaP, bn_param(rsa, OSSL_PKEY_PARAM_RSA_FACTOR1, 128)),
                   tlv(tag::kImportRsaQ, bn_param(rsa, OSSL_PKEY_PARAM_RSA_FACTOR2, 128)),
                   tlv(tag::kImportRsaDp, bn_param(rsa, OSSL_PKEY_PARAM_RSA_EXPONENT1, 128)),
                   tlv(tag::kImportRsaDq, bn_param(rsa, OSSL_PKEY_PARAM_RSA_EXPONENT2, 128)),
                   tlv(tag::kImportRsaQinv, bn_param(rsa, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 128))}))
          .sw,
      Sw::ok);
  ASSERT_EQ(sign(k9D, Algorithm::rsa2048, rsa_encrypt_pkcs1(rsa, {'k'})).sw, Sw::ok);

  Pkey host = ec_generate("P-256");
  ASSERT_EQ(send(Ins::import_key, u8(Algorithm::ecc_p256), u8(KeyRef::card_authentication),
                 tlv(tag::kImportEcPrivate, ec_private_scalar(host.get(), 32)))
                .sw,
            Sw::ok);
  ASSERT_EQ(
      send(Ins::general_authenticate, u8(Algorithm::ecc_p256), u8(KeyRef::card_authentication),
           tlv(tag::kDynamicAuth,
               concat({tlv(tag::kResponse, {}), tlv(tag::kExponentiation, ec_point(host.get()))})))
          .sw,
      Sw::ok);

  ASSERT_EQ(send(Ins::change_reference_data, 0x00, u8(KeyRef::pin),
                 concat({pin_block(kDefaultPin), pin_block("778899")}))
                .sw,
            Sw::ok);
  ASSERT_EQ(send(Ins::reset_retry_counter, 0x00, u8(KeyRef::pin),
                 concat({pin_block(kDefaultPuk), pin_block(kDefaultPin)}))
                .sw,
            Sw::ok);
  ASSERT_EQ(send(Ins::set_management_key, protocol::kSetManagementKeyP1, 0xFF,
                 concat({{u8(Algorithm::aes256), u8(KeyRef::management), 32}, random_bytes(32)}))
                .sw,
            Sw::ok);
  ASSERT_EQ(send(CertkeyIns::set_unlock_key, 5, 0, random_bytes(32)).sw, Sw::ok);
  ASSERT_EQ(send(CertkeyIns::unlock_challenge).sw, Sw::ok);
  ASSERT_EQ(
      send(CertkeyIns::unlock_response, 0, 0, concat({random_bytes(10), pin_block("112233")})).sw,
      protocol::sw_retries_left(4));
  ASSERT_EQ(send(Ins::get_serial, 0, 0).sw, Sw::ok);
  ASSERT_EQ(send(Ins::get_version, 0, 0).sw, Sw::ok);

  expect_no_allocation();
}

TEST_F(NoHeap, ErrorPathsAndReset_NoAllocationInTransmit) {
  EXPECT_EQ(transmit({0x00, 0xA4}).sw, Sw::wrong_length);
  EXPECT_EQ(transmit({0x00, 0xA4, 0x04, 0x00, 0x00, 0x01}).sw, Sw::wrong_length);
  EXPECT_EQ(transmit({0x00, 0xC0, 0x00, 0x00, 0x00}).sw, Sw::conditions_not_satisfied);
  EXPECT_EQ(transmit({0x40, 0x20, 0x00, 0x80}).sw, Sw::cla_not_supported);
  EXPECT_EQ(transmit({0x00, 0x02, 0x00, 0x00}).sw, Sw::ins_not_supported);
  EXPECT_EQ(send(Ins::general_authenticate, 0x11, k9A, {0x7C, 0x05, 0x82}).sw, Sw::incorrect_data);
  EXPECT_EQ(get_object(protocol::object::kSignatureCert).sw, Sw::not_found);
  EXPECT_EQ(send(CertkeyIns::swap_slots, k9A, k9D).sw, Sw::security_status_not_satisfied);
  for (int i = 0; i < 3; ++i) verify_pin("000000");
  for (int i = 0; i < 3; ++i) {
    send(Ins::reset_retry_counter, 0x00, u8(KeyRef::pin),
         concat({pin_block("00000000"), pin_block("000000")}));
  }
  EXPECT_EQ(send(Ins::reset, 0, 0).sw, Sw::ok);
  token().flash().fail_writes_from(1);
  EXPECT_EQ(verify_pin(kDefaultPin), Sw::memory_failure);

  expect_no_allocation();
}

}  // namespace
}  // namespace certkey::agent::test
