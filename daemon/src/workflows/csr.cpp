#include "csr.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "../core/c_free.hpp"
#include "../core/error_code.hpp"

namespace certkey::daemon {
namespace {

using Req = std::unique_ptr<X509_REQ, Free<X509_REQ, X509_REQ_free>>;
using Name = std::unique_ptr<X509_NAME, Free<X509_NAME, X509_NAME_free>>;
using Sig = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG, ECDSA_SIG_free>>;
using Bio = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;

[[noreturn]] void fail(const std::string& what) {
  throw ApiError(ErrorCode::internal_error, "CSR: " + what);
}

int signature_nid(KeyAlgorithm algorithm) {
  switch (algorithm) {
    case KeyAlgorithm::ec_p256: return NID_ecdsa_with_SHA256;
    case KeyAlgorithm::ec_p384: return NID_ecdsa_with_SHA384;
    case KeyAlgorithm::rsa_2048: break;
  }
  return NID_sha256WithRSAEncryption;
}

void set_signature_algorithm(X509_REQ* req, KeyAlgorithm algorithm) {
  // The signature algorithm is part of what is signed: set it before taking the body. RSA's
  // identifier carries an explicit NULL parameter (RFC 4055), ECDSA's none (RFC 5758).
  X509_ALGOR* identifier = X509_ALGOR_new();
  const bool rsa = algorithm == KeyAlgorithm::rsa_2048;
  if (!identifier ||
      X509_ALGOR_set0(identifier, OBJ_nid2obj(signature_nid(algorithm)),
                      rsa ? V_ASN1_NULL : V_ASN1_UNDEF, nullptr) != 1 ||
      X509_REQ_set1_signature_algo(req, identifier) != 1) {
    X509_ALGOR_free(identifier);
    fail("cannot set the signature algorithm");
  }
  X509_ALGOR_free(identifier);
}

std::vector<std::uint8_t> body_of(X509_REQ* req) {
  unsigned char* body = nullptr;
  const int length = i2d_re_X509_REQ_tbs(req, &body);
  if (length <= 0) fail("cannot encode the request body");
  std::vector<std::uint8_t> out(body, body + length);
  OPENSSL_free(body);
  return out;
}

void set_signature(X509_REQ* req, const std::vector<std::uint8_t>& signature) {
  ASN1_BIT_STRING* bits = ASN1_BIT_STRING_new();
  if (!bits || ASN1_BIT_STRING_set(bits, const_cast<unsigned char*>(signature.data()),
                                   static_cast<int>(signature.size())) != 1) {
    ASN1_BIT_STRING_free(bits);
    fail("cannot store the signature");
  }
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  X509_REQ_set0_signature(req, bits);
}

}  // namespace

std::vector<std::uint8_t> der_ecdsa_signature(const std::vector<std::uint8_t>& raw) {
  if (raw.empty() || raw.size() % 2 != 0) fail("the token's signature has the wrong length");
  const int half = static_cast<int>(raw.size() / 2);
  Sig sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), half, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + half, half, nullptr);
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

Csr make_csr(EVP_PKEY* key, KeyAlgorithm algorithm, const std::vector<std::uint8_t>& subject_der,
             const MessageSigner& sign) {
  const unsigned char* p = subject_der.data();
  Name subject(d2i_X509_NAME(nullptr, &p, static_cast<long>(subject_der.size())));
  Req req(X509_REQ_new());
  if (!subject || !req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_REQ_set_subject_name(req.get(), subject.get()) != 1 ||
      X509_REQ_set_pubkey(req.get(), key) != 1) {
    fail("cannot build the request");
  }
  set_signature_algorithm(req.get(), algorithm);
  const std::vector<std::uint8_t> signature = sign(body_of(req.get()));
  set_signature(req.get(),
                algorithm == KeyAlgorithm::rsa_2048 ? signature : der_ecdsa_signature(signature));
  if (X509_REQ_verify(req.get(), key) != 1) fail("the token's signature does not verify");
  Csr csr;
  unsigned char* der = nullptr;
  const int der_length = i2d_X509_REQ(req.get(), &der);
  if (der_length <= 0) fail("cannot encode the request");
  csr.der.assign(der, der + der_length);
  OPENSSL_free(der);
  Bio out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_X509_REQ(out.get(), req.get()) != 1) fail("cannot write PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  csr.pem.assign(data, static_cast<std::size_t>(n));
  return csr;
}

}  // namespace certkey::daemon
