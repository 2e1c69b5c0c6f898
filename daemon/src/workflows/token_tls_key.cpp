// EC_KEY_METHOD is deprecated in OpenSSL 3 in favour of providers, but it is the way an
// application hands libssl a key with its own signing operation: OpenSSL 3 keeps a key with
// a non-default method on its legacy path (a "foreign" key, crypto/evp/p_lib.c), exactly as
// libp11's engine keys work.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "token_tls_key.hpp"

#include <openssl/ec.h>

#include "../core/error_code.hpp"

namespace certkey::daemon {

struct TokenTlsKey::Signer {
  pkcs11::Session& session;
  CK_OBJECT_HANDLE private_key;
  std::optional<std::string_view> context_pin;
};

namespace {

int signer_index() {
  static const int index = EC_KEY_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// No exception may cross back into OpenSSL's C code: a failure is a null signature, which
// fails the handshake.
ECDSA_SIG* sign_on_token(const unsigned char* digest, int length, const BIGNUM*, const BIGNUM*,
                         EC_KEY* ec) {
  const auto* signer =
      static_cast<const TokenTlsKey::Signer*>(EC_KEY_get_ex_data(ec, signer_index()));
  if (!signer || length <= 0) return nullptr;
  try {
    const pkcs11::Bytes raw =
        signer->session.sign(signer->private_key, CKM_ECDSA, pkcs11::Bytes(digest, digest + length),
                             signer->context_pin);
    if (raw.empty() || raw.size() % 2 != 0) return nullptr;
    const int half = static_cast<int>(raw.size() / 2);
    ECDSA_SIG* signature = ECDSA_SIG_new();
    BIGNUM* r = BN_bin2bn(raw.data(), half, nullptr);
    BIGNUM* s = BN_bin2bn(raw.data() + half, half, nullptr);
    if (!signature || !r || !s || ECDSA_SIG_set0(signature, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(signature);
      return nullptr;
    }
    return signature;
  } catch (...) {
    return nullptr;
  }
}

int sign_der(int, const unsigned char* digest, int length, unsigned char* out,
             unsigned int* out_length, const BIGNUM* kinv, const BIGNUM* r, EC_KEY* ec) {
  ECDSA_SIG* signature = sign_on_token(digest, length, kinv, r, ec);
  if (!signature) return 0;
  const int written = i2d_ECDSA_SIG(signature, &out);
  ECDSA_SIG_free(signature);
  if (written <= 0) return 0;
  *out_length = static_cast<unsigned int>(written);
  return 1;
}

const EC_KEY_METHOD* token_method() {
  static EC_KEY_METHOD* method = [] {
    EC_KEY_METHOD* m = EC_KEY_METHOD_new(EC_KEY_get_default_method());
    EC_KEY_METHOD_set_sign(m, sign_der, nullptr, sign_on_token);
    return m;
  }();
  return method;
}

}  // namespace

TokenTlsKey::TokenTlsKey(pkcs11::Session& session, const TokenKey& key, std::string_view pin) {
  if (key.algorithm == KeyAlgorithm::rsa_2048) {
    throw ApiError(ErrorCode::bad_request,
                   "TLS client authentication with an RSA key on the token is not supported");
  }
  signer_.reset(
      new Signer{session, key.private_key,
                 key.always_authenticate ? std::optional<std::string_view>(pin) : std::nullopt});
  EC_KEY* ec = EVP_PKEY_get1_EC_KEY(key.public_value.get());
  if (!ec) throw ApiError(ErrorCode::token_error, "the token's public key is not an EC key");
  // The method goes on before the key is assigned: EVP_PKEY_assign decides then whether the
  // key is foreign.
  if (EC_KEY_set_method(ec, token_method()) != 1 ||
      EC_KEY_set_ex_data(ec, signer_index(), signer_.get()) != 1) {
    EC_KEY_free(ec);
    throw ApiError(ErrorCode::internal_error, "cannot make a TLS key for the token");
  }
  key_.reset(EVP_PKEY_new());
  if (!key_ || EVP_PKEY_assign_EC_KEY(key_.get(), ec) != 1) {
    EC_KEY_free(ec);
    throw ApiError(ErrorCode::internal_error, "cannot make a TLS key for the token");
  }
}

TokenTlsKey::~TokenTlsKey() = default;

}  // namespace certkey::daemon
