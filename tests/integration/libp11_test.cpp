// libcertkey-pkcs11.so through libp11, the path the daemon will take: a CSR signed
// by a token key through libp11's API, and a certificate stored with
// PKCS11_store_certificate, which writes no CKA_SERIAL_NUMBER (the module fills it from the
// DER; nss.sh then checks that NSS lists it). Run inside tests/harness/with-tokens, after
// pkcs11-tool has generated keys (see CMakeLists.txt).
#include <gtest/gtest.h>
#include <libp11.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace {

const char* module_path() { return std::getenv("CERTKEY_MODULE"); }

class Libp11 : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(module_path(), nullptr) << "CERTKEY_MODULE is not set";
    ctx_ = PKCS11_CTX_new();
    ASSERT_EQ(PKCS11_CTX_load(ctx_, module_path()), 0);
    ASSERT_EQ(PKCS11_enumerate_slots(ctx_, &slots_, &slot_count_), 0);
    slot_ = PKCS11_find_token(ctx_, slots_, slot_count_);
    ASSERT_NE(slot_, nullptr);
    ASSERT_EQ(PKCS11_open_session(slot_, 1), 0);
    ASSERT_EQ(PKCS11_login(slot_, 0, "123456"), 0);
  }
  void TearDown() override {
    if (slots_) PKCS11_release_all_slots(ctx_, slots_, slot_count_);
    if (ctx_) {
      PKCS11_CTX_unload(ctx_);
      PKCS11_CTX_free(ctx_);
    }
  }
  PKCS11_KEY* key_with_id(unsigned char id) {
    PKCS11_KEY* keys = nullptr;
    unsigned int count = 0;
    if (PKCS11_enumerate_keys(slot_->token, &keys, &count) != 0) return nullptr;
    for (unsigned int i = 0; i < count; ++i) {
      if (keys[i].id_len == 1 && keys[i].id[0] == id && keys[i].isPrivate) return &keys[i];
    }
    return nullptr;
  }
  // A CSR for the token key, signed by it; verified with its own public key.
  void expect_signed_csr(unsigned char id) {
    PKCS11_KEY* key = key_with_id(id);
    ASSERT_NE(key, nullptr);
    EVP_PKEY* pkey = PKCS11_get_private_key(key);
    ASSERT_NE(pkey, nullptr);
    std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)> req(X509_REQ_new(), X509_REQ_free);
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("certkey libp11 CSR"), -1, -1,
                               0);
    ASSERT_EQ(X509_REQ_set_pubkey(req.get(), pkey), 1);
    ASSERT_GT(X509_REQ_sign(req.get(), pkey, EVP_sha256()), 0);
    EXPECT_EQ(X509_REQ_verify(req.get(), X509_REQ_get0_pubkey(req.get())), 1);
    std::string path = std::string(std::getenv("WORKDIR") ? std::getenv("WORKDIR") : ".") +
                       "/libp11-" + std::to_string(id) + ".csr";
    FILE* out = std::fopen(path.c_str(), "w");
    ASSERT_NE(out, nullptr);
    PEM_write_X509_REQ(out, req.get());
    std::fclose(out);
    EVP_PKEY_free(pkey);
  }
  PKCS11_CTX* ctx_ = nullptr;
  PKCS11_SLOT* slots_ = nullptr;
  unsigned int slot_count_ = 0;
  PKCS11_SLOT* slot_ = nullptr;
};

TEST_F(Libp11, CsrSignedWithEcKey_Verifies) { expect_signed_csr(0x01); }
TEST_F(Libp11, CsrSignedWithRsaKey_Verifies) { expect_signed_csr(0x03); }  // 9D: PIN once

TEST_F(Libp11, StoreCertificate_WithoutSerialAttribute_GetsSerialFromDer) {
  // A certificate for the 9A key, issued by a throwaway CA.
  PKCS11_KEY* key = key_with_id(0x01);
  ASSERT_NE(key, nullptr);
  EVP_PKEY* public_key = PKCS11_get_public_key(key);
  ASSERT_NE(public_key, nullptr);
  EVP_PKEY* ca_key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 0x5EED);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("certkey libp11 stored"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), public_key);
  ASSERT_GT(X509_sign(cert.get(), ca_key, EVP_sha256()), 0);
  unsigned char id = 0x01;
  PKCS11_CERT* stored = nullptr;
  ASSERT_EQ(PKCS11_store_certificate(slot_->token, cert.get(), const_cast<char*>("stored"), &id, 1,
                                     &stored),
            0);
  // Read back through a fresh enumeration: the module answers with the serial from the DER.
  PKCS11_CERT* certs = nullptr;
  unsigned int count = 0;
  ASSERT_EQ(PKCS11_enumerate_certs(slot_->token, &certs, &count), 0);
  bool found = false;
  for (unsigned int i = 0; i < count; ++i) {
    if (ASN1_INTEGER_get(X509_get0_serialNumber(certs[i].x509)) == 0x5EED) found = true;
  }
  EXPECT_TRUE(found);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(public_key);
}

}  // namespace
