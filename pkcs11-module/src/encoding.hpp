// Host-side encodings the PKCS#11 module needs around the token's raw operations: the token
// does raw RSA and ECDSA over a digest; padding, hashing and format conversions are here.
// Pure functions over byte vectors; errors are reported as std::nullopt / false.
#pragma once
#include <certkey/protocol/algorithms.hpp>
#include <openssl/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace certkey::p11 {

using Bytes = std::vector<std::uint8_t>;

enum class Hash { none, sha1, sha224, sha256, sha384, sha512 };

std::size_t hash_length(Hash h);
// OpenSSL's digest for a hash; nullptr for none.
const EVP_MD* evp_md(Hash h);
Bytes digest(Hash h, const Bytes& message);

// Incremental hashing for multi-part C_SignUpdate.
class Digest {
 public:
  explicit Digest(Hash h);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void update(const std::uint8_t* data, std::size_t length);
  Bytes finish();

 private:
  void* ctx_;  // EVP_MD_CTX
};

// DER DigestInfo (RFC 8017 9.2 note 1) of a digest; `h` must not be none.
Bytes digest_info(Hash h, const Bytes& digest);

// EMSA-PKCS1-v1_5 block type 1 for signing: 00 01 FF.. 00 || t, `modulus_bytes` long.
std::optional<Bytes> pkcs1_v15_sign_block(const Bytes& t, std::size_t modulus_bytes);
// Removes block type 2 (decryption) padding: 00 02 PS 00 M; nullopt when malformed.
std::optional<Bytes> pkcs1_v15_unpad_decrypt(const Bytes& block);

// EMSA-PSS encoding (RFC 8017 9.1.1) of a message digest for a modulus of `modulus_bits`,
// with MGF1 over `mgf1_hash` and a random salt of `salt_length` bytes.
std::optional<Bytes> pss_encode(const Bytes& message_digest, Hash hash, Hash mgf1_hash,
                                std::size_t salt_length, std::size_t modulus_bits);
// RSAES-OAEP decoding (RFC 8017 7.1.2 step 3) of the raw decryption result (`k` bytes).
std::optional<Bytes> oaep_decode(const Bytes& encoded, Hash hash, Hash mgf1_hash,
                                 const Bytes& label);

// ECDSA signature: DER SEQUENCE{r, s} (what the token returns) to r || s, each `field_bytes`
// long (what PKCS#11 returns).
std::optional<Bytes> ecdsa_der_to_raw(const Bytes& der, std::size_t field_bytes);

// EC curves the token supports (protocol::kKeyAlgorithms), named by their algorithm byte; as
// named-curve DER in CKA_EC_PARAMS.
enum class Curve : std::uint8_t {
  p256 = static_cast<std::uint8_t>(protocol::Algorithm::ecc_p256),
  p384 = static_cast<std::uint8_t>(protocol::Algorithm::ecc_p384),
};
Bytes ec_params(Curve c);
std::optional<Curve> curve_from_params(const Bytes& der_params);
std::size_t field_bytes(Curve c);
// The curve of a PIV algorithm byte (protocol::Algorithm), or nothing for RSA and others.
std::optional<Curve> curve_of_algorithm(std::uint8_t piv_algorithm);
// CKA_EC_POINT: the uncompressed point wrapped in a DER OCTET STRING.
Bytes ec_point_attribute(const Bytes& uncompressed_point);
// Accepts a point either raw (04 || X || Y) or wrapped in an OCTET STRING (both occur in
// C_DeriveKey parameters); returns the raw point.
std::optional<Bytes> unwrap_ec_point(const Bytes& value, Curve c);

// SubjectPublicKeyInfo DER for CKA_PUBLIC_KEY_INFO.
Bytes rsa_spki(const Bytes& modulus, const Bytes& exponent);
Bytes ec_spki(Curve c, const Bytes& uncompressed_point);

// Fields of an X.509 certificate, DER-encoded as PKCS#11 wants them (CKA_SUBJECT, CKA_ISSUER:
// Name DER; CKA_SERIAL_NUMBER: the DER INTEGER), plus its public key and a label.
struct CertificateFields {
  Bytes subject;
  Bytes issuer;
  Bytes serial_number;
  Bytes spki;               // SubjectPublicKeyInfo DER
  std::string common_name;  // of the subject, empty if none
};
std::optional<CertificateFields> parse_certificate(const Bytes& der);

// RSA public key parts from the token's public key template contents (81 n, 82 e), or an
// EC point (86), parsed from the same TLV encoding.
struct PublicKeyParts {
  bool is_rsa = false;
  Bytes modulus, exponent;  // RSA
  Curve curve = Curve::p256;
  Bytes point;  // EC, uncompressed
};
std::optional<PublicKeyParts> parse_public_key_template(const Bytes& contents, bool rsa,
                                                        Curve curve);
// The same parts taken from an SPKI (a certificate's key).
std::optional<PublicKeyParts> parse_spki(const Bytes& spki);

// Random bytes from OpenSSL.
Bytes random_bytes(std::size_t n);

}  // namespace certkey::p11
