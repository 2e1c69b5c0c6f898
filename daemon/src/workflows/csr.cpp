#include "csr.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "../core/error_code.hpp"

namespace certkey::daemon {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using Sig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

[[noreturn]] void fail(const std::string& what) { throw ApiError(ErrorCode::internal_error, "CSR: " + what); }

// r || s from the token, as the DER ECDSA-Sig-Value a certificate request carries.
std::vector<std::uint8_t> der_signature(const std::vector<std::uint8_t>& raw) {
  if (raw.size() != 64) fail("the token's signature has the wrong length");
  Sig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + 32, 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    fail("cannot encode the signature");
  }
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig.get(), &der);
  if (n <= 0) fail("cannot encode the signature");
  std::vector<std::uint8_t> out(der, der + n);
  OPENSSL_free(der);
  return out;
}

}  // namespace

EVP_PKEY* p256_public_key(const std::vector<std::uint8_t>& point) {
  std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>> build(OSSL_PARAM_BLD_new());
  if (!build || OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>> params(OSSL_PARAM_BLD_to_param(build.get()));
  std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* key = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return key;
}

std::string make_csr_pem(EVP_PKEY* key, const std::vector<std::uint8_t>& subject_der, const EcdsaSigner& sign) {
  const unsigned char* p = subject_der.data();
  Name subject(d2i_X509_NAME(nullptr, &p, static_cast<long>(subject_der.size())));
  Req req(X509_REQ_new());
  if (!subject || !req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_subject_name(req.get(), subject.get()) != 1 || X509_REQ_set_pubkey(req.get(), key) != 1) {
    fail("cannot build the request");
  }
  // The signature algorithm is part of what is signed: set it before taking the body.
  X509_ALGOR* algorithm = X509_ALGOR_new();
  if (!algorithm || X509_ALGOR_set0(algorithm, OBJ_nid2obj(NID_ecdsa_with_SHA256), V_ASN1_UNDEF, nullptr) != 1 ||
      X509_REQ_set1_signature_algo(req.get(), algorithm) != 1) {
    X509_ALGOR_free(algorithm);
    fail("cannot set the signature algorithm");
  }
  X509_ALGOR_free(algorithm);
  unsigned char* body = nullptr;
  const int body_length = i2d_re_X509_REQ_tbs(req.get(), &body);
  if (body_length <= 0) fail("cannot encode the request body");
  std::vector<std::uint8_t> digest(32);
  unsigned digest_length = 0;
  const bool hashed = EVP_Digest(body, static_cast<std::size_t>(body_length), digest.data(), &digest_length,
                                 EVP_sha256(), nullptr) == 1;
  OPENSSL_free(body);
  if (!hashed) fail("cannot hash the request body");
  const std::vector<std::uint8_t> signature = der_signature(sign(digest));
  ASN1_BIT_STRING* bits = ASN1_BIT_STRING_new();
  if (!bits || ASN1_BIT_STRING_set(bits, const_cast<unsigned char*>(signature.data()),
                                   static_cast<int>(signature.size())) != 1) {
    ASN1_BIT_STRING_free(bits);
    fail("cannot store the signature");
  }
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  X509_REQ_set0_signature(req.get(), bits);
  if (X509_REQ_verify(req.get(), key) != 1) fail("the token's signature does not verify");
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509_REQ(out.get(), req.get()) != 1) fail("cannot write PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace certkey::daemon
