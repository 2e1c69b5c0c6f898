// hal::Crypto on OpenSSL 3, for the simulator and the unit tests.
#pragma once
#include <openssl/types.h>

#include "../hal/crypto.hpp"

namespace certkey::agent::host {

class OpenSslCrypto final : public hal::Crypto {
 public:
  // Called now and then during slow operations (RSA key generation), on the calling thread:
  // the transport uses it to tell the host the token is still working.
  using Progress = void (*)(void* context);
  void set_progress(Progress progress, void* context) {
    progress_ = progress;
    progress_context_ = context;
  }

  bool rsa_generate(hal::RsaPrivateKey& out) override;
  bool rsa_complete(hal::RsaPrivateKey& key) override;
  bool rsa_private(const hal::RsaPrivateKey& key, Bytes in, MutableBytes out) override;
  bool ec_generate(hal::Curve curve, hal::EcPrivateKey& out) override;
  bool ec_complete(hal::Curve curve, hal::EcPrivateKey& key) override;
  bool ecdsa_sign(hal::Curve curve, const hal::EcPrivateKey& key, Bytes digest, MutableBytes out,
                  std::size_t& out_length) override;
  bool ecdh(hal::Curve curve, const hal::EcPrivateKey& key, Bytes peer_point,
            MutableBytes out) override;
  bool block_encrypt(hal::BlockCipher cipher, Bytes key, Bytes in, MutableBytes out) override;
  bool block_decrypt(hal::BlockCipher cipher, Bytes key, Bytes in, MutableBytes out) override;
  bool aes_cmac(Bytes key, Bytes message, MutableBytes out16) override;
  void sha256(Bytes message, MutableBytes out32) override;

 private:
  static int on_keygen_progress(EVP_PKEY_CTX* ctx);
  Progress progress_ = nullptr;
  void* progress_context_ = nullptr;
};

}  // namespace certkey::agent::host
