// Host-side encodings around the token's raw RSA and ECDSA operations (encoding.hpp).
//
// Everything here is a pure function over byte vectors. Every input is bounded before it is
// read; malformed input gives std::nullopt (or an empty result where the declaration has no
// optional). Secrets that pass through (OAEP seed and data block, decrypted PKCS#1 blocks'
// intermediates) are wiped with OPENSSL_cleanse.
#include "encoding.hpp"

#include <certkey/protocol/tlv.hpp>

#include <certkey/card/openssl_ptr.hpp>
#include <certkey/protocol/algorithms.hpp>
#include <certkey/protocol/piv_payloads.hpp>
#include <certkey/protocol/tlv.hpp>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <climits>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <utility>

namespace certkey::p11 {
namespace {

using card::BnPtr;
using card::MdCtxPtr;
using card::PkeyPtr;
using card::X509Ptr;

// Wipes a buffer of intermediate secrets when it goes out of scope.
class Wiped {
 public:
  explicit Wiped(Bytes& b) : b_(b) {}
  ~Wiped() {
    if (!b_.empty()) OPENSSL_cleanse(b_.data(), b_.size());
  }
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;

 private:
  Bytes& b_;
};

}  // namespace

const EVP_MD* evp_md(Hash h) {
  switch (h) {
    case Hash::sha1: return EVP_sha1();
    case Hash::sha224: return EVP_sha224();
    case Hash::sha256: return EVP_sha256();
    case Hash::sha384: return EVP_sha384();
    case Hash::sha512: return EVP_sha512();
    case Hash::none: break;
  }
  return nullptr;
}

namespace {

// Hash of a buffer; empty on failure or for Hash::none.
Bytes hash_of(Hash h, const std::uint8_t* data, std::size_t length) {
  const EVP_MD* md = evp_md(h);
  if (md == nullptr) return {};
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int out_length = 0;
  static const std::uint8_t kEmpty = 0;
  if (EVP_Digest(length == 0 ? &kEmpty : data, length, out.data(), &out_length, md, nullptr) != 1 ||
      out_length != out.size()) {
    return {};
  }
  return out;
}

// ---- constant-time helpers ----------------------------------------------------------------

// All-ones when a == b, else zero; no branch on the values.
inline unsigned ct_eq(unsigned a, unsigned b) {
  unsigned x = a ^ b;
  // x | -x has its top bit set exactly when x != 0.
  return 0U - (((x | (0U - x)) >> (sizeof(unsigned) * CHAR_BIT - 1)) ^ 1U);
}
inline unsigned ct_select(unsigned mask, unsigned a, unsigned b) {
  return (mask & a) | (~mask & b);
}

// ---- MGF1 (RFC 8017 B.2.1) ---------------------------------------------------------------

bool mgf1(Hash h, const std::uint8_t* seed, std::size_t seed_length, std::uint8_t* mask,
          std::size_t mask_length) {
  const EVP_MD* md = evp_md(h);
  if (md == nullptr) return false;
  const auto h_length = static_cast<std::size_t>(EVP_MD_get_size(md));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  std::uint8_t block[EVP_MAX_MD_SIZE];
  bool ok = true;
  std::uint32_t counter = 0;
  for (std::size_t done = 0; done < mask_length && ok; done += h_length, ++counter) {
    const std::uint8_t c[4] = {
        static_cast<std::uint8_t>(counter >> 24), static_cast<std::uint8_t>(counter >> 16),
        static_cast<std::uint8_t>(counter >> 8), static_cast<std::uint8_t>(counter)};
    unsigned int out_length = 0;
    ok = EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
         (seed_length == 0 || EVP_DigestUpdate(ctx.get(), seed, seed_length) == 1) &&
         EVP_DigestUpdate(ctx.get(), c, sizeof c) == 1 &&
         EVP_DigestFinal_ex(ctx.get(), block, &out_length) == 1 && out_length == h_length;
    if (ok) {
      std::size_t take = std::min(h_length, mask_length - done);
      std::memcpy(mask + done, block, take);
    }
  }
  OPENSSL_cleanse(block, sizeof block);
  return ok;
}

// ---- DER helpers --------------------------------------------------------------------------

void der_length(Bytes& out, std::size_t length) {
  if (length < 0x80) {
    out.push_back(static_cast<std::uint8_t>(length));
    return;
  }
  std::uint8_t buffer[sizeof(std::size_t)];
  std::size_t n = 0;
  for (std::size_t l = length; l != 0; l >>= 8) buffer[n++] = static_cast<std::uint8_t>(l);
  out.push_back(static_cast<std::uint8_t>(0x80 | n));
  while (n != 0) out.push_back(buffer[--n]);
}

void der_tlv(Bytes& out, std::uint8_t tag, const std::uint8_t* value, std::size_t length) {
  out.push_back(tag);
  der_length(out, length);
  out.insert(out.end(), value, value + length);
}
void der_tlv(Bytes& out, std::uint8_t tag, const Bytes& value) {
  der_tlv(out, tag, value.data(), value.size());
}

// DER INTEGER of an unsigned big-endian magnitude.
void der_unsigned_integer(Bytes& out, const Bytes& magnitude) {
  std::size_t start = 0;
  while (start < magnitude.size() && magnitude[start] == 0) ++start;
  Bytes value;
  if (start == magnitude.size() || (magnitude[start] & 0x80) != 0) value.push_back(0x00);
  value.insert(value.end(), magnitude.begin() + static_cast<std::ptrdiff_t>(start),
               magnitude.end());
  der_tlv(out, 0x02, value);
}

// A bounded reader of DER (definite, minimal lengths) or of the token's BER-TLV with
// one-byte tags.
class DerReader {
 public:
  DerReader(const std::uint8_t* data, std::size_t length) : p_(data), end_(data + length) {}
  bool at_end() const { return p_ == end_; }

  // Reads one element with a one-byte tag; `strict` demands DER's minimal length encoding.
  bool next(std::uint8_t& tag, const std::uint8_t*& value, std::size_t& length,
            bool strict = true) {
    if (end_ - p_ < 2) return false;
    tag = *p_++;
    std::uint8_t first = *p_++;
    if (first < 0x80) {
      length = first;
    } else {
      std::size_t count = first & 0x7F;
      if (count == 0 || count > 3 || static_cast<std::size_t>(end_ - p_) < count)
        return false;  // no indefinite
      length = 0;
      for (std::size_t i = 0; i < count; ++i) length = (length << 8) | *p_++;
      if (strict && (length < 0x80 || (count > 1 && (length >> (8 * (count - 1))) == 0)))
        return false;
    }
    if (static_cast<std::size_t>(end_ - p_) < length) return false;
    value = p_;
    p_ += length;
    return true;
  }

 private:
  const std::uint8_t* p_;
  const std::uint8_t* end_;
};

// A positive DER INTEGER's magnitude, at most `max_bytes` long after dropping the sign byte.
bool der_positive_integer(const std::uint8_t* value, std::size_t length, std::size_t max_bytes,
                          const std::uint8_t*& magnitude, std::size_t& magnitude_length) {
  if (length == 0) return false;
  if ((value[0] & 0x80) != 0) return false;                                    // negative
  if (length > 1 && value[0] == 0x00 && (value[1] & 0x80) == 0) return false;  // not minimal
  if (length > 1 && value[0] == 0x00) {
    ++value;
    --length;
  }
  if (length > max_bytes) return false;
  magnitude = value;
  magnitude_length = length;
  return true;
}

constexpr std::uint8_t kOidRsaEncryptionAlgorithm[] = {
    0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00};
constexpr std::uint8_t kOidEcPublicKey[] = {0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};

std::size_t point_length(Curve c) { return 1 + 2 * field_bytes(c); }

bool is_raw_point(const std::uint8_t* p, std::size_t length, Curve c) {
  return length == point_length(c) && p[0] == 0x04;
}

Bytes strip_leading_zeros(const std::uint8_t* p, std::size_t length) {
  std::size_t start = 0;
  while (start < length && p[start] == 0) ++start;
  return Bytes(p + start, p + length);
}

bool bn_param(const EVP_PKEY* key, const char* name, Bytes& out) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1 || raw == nullptr) return false;
  BnPtr bn(raw);
  out.assign(static_cast<std::size_t>(BN_num_bytes(bn.get())), 0);
  return out.empty() || BN_bn2bin(bn.get(), out.data()) == static_cast<int>(out.size());
}

bool bn_param_padded(const EVP_PKEY* key, const char* name, std::size_t length, std::uint8_t* out) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1 || raw == nullptr) return false;
  BnPtr bn(raw);
  return length <= INT_MAX &&
         BN_bn2binpad(bn.get(), out, static_cast<int>(length)) == static_cast<int>(length);
}

}  // namespace

// ---- hashing ------------------------------------------------------------------------------

std::size_t hash_length(Hash h) {
  const EVP_MD* md = evp_md(h);
  return md == nullptr ? 0 : static_cast<std::size_t>(EVP_MD_get_size(md));
}

// Hash::none is the identity: the "digest" is the data itself (mechanisms without hashing).
Bytes digest(Hash h, const Bytes& message) {
  if (h == Hash::none) return message;
  return hash_of(h, message.data(), message.size());
}

namespace {
// What Digest::ctx_ points to: an EVP_MD_CTX, or for Hash::none a buffer of the data.
struct DigestState {
  Hash hash;
  MdCtxPtr ctx;
  Bytes data;
  bool failed = false;
};
}  // namespace

Digest::Digest(Hash h) : ctx_(nullptr) {
  auto state = std::make_unique<DigestState>();
  state->hash = h;
  if (h != Hash::none) {
    state->ctx.reset(EVP_MD_CTX_new());
    if (!state->ctx) throw std::bad_alloc();
    if (EVP_DigestInit_ex(state->ctx.get(), evp_md(h), nullptr) != 1)
      throw std::runtime_error("digest init failed");
  }
  ctx_ = state.release();
}

Digest::~Digest() {
  auto* state = static_cast<DigestState*>(ctx_);
  if (state != nullptr && !state->data.empty())
    OPENSSL_cleanse(state->data.data(), state->data.size());
  delete state;
}

void Digest::update(const std::uint8_t* data, std::size_t length) {
  auto* state = static_cast<DigestState*>(ctx_);
  if (length == 0) return;
  if (data == nullptr) {
    state->failed = true;
    return;
  }
  if (state->hash == Hash::none) {
    state->data.insert(state->data.end(), data, data + length);
  } else if (EVP_DigestUpdate(state->ctx.get(), data, length) != 1) {
    state->failed = true;
  }
}

// Returns the digest (empty on failure) and starts over for the next message.
Bytes Digest::finish() {
  auto* state = static_cast<DigestState*>(ctx_);
  Bytes out;
  if (state->hash == Hash::none) {
    out = std::move(state->data);
    state->data.clear();
  } else {
    out.assign(hash_length(state->hash), 0);
    unsigned int out_length = 0;
    if (EVP_DigestFinal_ex(state->ctx.get(), out.data(), &out_length) != 1 ||
        out_length != out.size())
      out.clear();
    if (EVP_DigestInit_ex(state->ctx.get(), evp_md(state->hash), nullptr) != 1)
      state->failed = true;
  }
  if (state->failed) out.clear();
  state->failed = false;
  return out;
}

// ---- DigestInfo and PKCS#1 v1.5 ---------------------------------------------------------

// The DER prefixes of RFC 8017 9.2 note 1; empty for Hash::none or a digest of the wrong length.
Bytes digest_info(Hash h, const Bytes& digest_value) {
  static const std::uint8_t kSha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                       0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
  static const std::uint8_t kSha224[] = {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                         0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c};
  static const std::uint8_t kSha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                         0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
  static const std::uint8_t kSha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                         0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
  static const std::uint8_t kSha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                         0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
  const std::uint8_t* prefix = nullptr;
  std::size_t prefix_length = 0;
  switch (h) {
    case Hash::sha1:
      prefix = kSha1;
      prefix_length = sizeof kSha1;
      break;
    case Hash::sha224:
      prefix = kSha224;
      prefix_length = sizeof kSha224;
      break;
    case Hash::sha256:
      prefix = kSha256;
      prefix_length = sizeof kSha256;
      break;
    case Hash::sha384:
      prefix = kSha384;
      prefix_length = sizeof kSha384;
      break;
    case Hash::sha512:
      prefix = kSha512;
      prefix_length = sizeof kSha512;
      break;
    case Hash::none: return {};
  }
  if (digest_value.size() != hash_length(h)) return {};
  Bytes out(prefix, prefix + prefix_length);
  out.insert(out.end(), digest_value.begin(), digest_value.end());
  return out;
}

std::optional<Bytes> pkcs1_v15_sign_block(const Bytes& t, std::size_t modulus_bytes) {
  if (modulus_bytes < 11 || t.size() > modulus_bytes - 11)
    return std::nullopt;  // 00 01 FFx8 00 at least
  Bytes block(modulus_bytes, 0xFF);
  block[0] = 0x00;
  block[1] = 0x01;
  const std::size_t separator = modulus_bytes - t.size() - 1;
  block[separator] = 0x00;
  std::copy(t.begin(), t.end(), block.begin() + static_cast<std::ptrdiff_t>(separator + 1));
  return block;
}

// 00 02 PS(>= 8 nonzero bytes) 00 M, checked over the whole block without branching on it.
std::optional<Bytes> pkcs1_v15_unpad_decrypt(const Bytes& block) {
  const std::size_t k = block.size();
  if (k < 11) return std::nullopt;
  unsigned good = ct_eq(block[0], 0x00) & ct_eq(block[1], 0x02);
  unsigned found = 0;
  unsigned zero_index = 0;
  for (std::size_t i = 2; i < k; ++i) {
    unsigned is_zero = ct_eq(block[i], 0x00);
    zero_index = ct_select(~found & is_zero, static_cast<unsigned>(i), zero_index);
    found |= is_zero;
  }
  good &= found;
  // PS is block[2 .. zero_index), at least 8 bytes: zero_index >= 10.
  good &= ~(0U - static_cast<unsigned>(zero_index < 10));
  if (good == 0) return std::nullopt;
  return Bytes(block.begin() + static_cast<std::ptrdiff_t>(zero_index) + 1, block.end());
}

// ---- EMSA-PSS (RFC 8017 9.1.1) ------------------------------------------------------------

// Returns the encoded message left-padded with zero bytes to the modulus length
// ceil(modulus_bits / 8): EM itself is one byte shorter when modulus_bits % 8 == 1, and the
// raw RSA operation takes a modulus-sized input either way.
std::optional<Bytes> pss_encode(const Bytes& message_digest, Hash hash, Hash mgf1_hash,
                                std::size_t salt_length, std::size_t modulus_bits) {
  const std::size_t h_length = hash_length(hash);
  if (h_length == 0 || hash_length(mgf1_hash) == 0 || message_digest.size() != h_length)
    return std::nullopt;
  if (modulus_bits < 2 || modulus_bits > 65536) return std::nullopt;
  const std::size_t em_bits = modulus_bits - 1;
  const std::size_t em_length = (em_bits + 7) / 8;
  const std::size_t k = (modulus_bits + 7) / 8;
  if (salt_length > em_length || em_length < h_length + salt_length + 2) return std::nullopt;

  Bytes salt(salt_length);
  if (salt_length != 0 && RAND_bytes(salt.data(), static_cast<int>(salt_length)) != 1)
    return std::nullopt;

  // H = Hash(00 x 8 || mHash || salt)
  Bytes m_prime(8, 0x00);
  m_prime.insert(m_prime.end(), message_digest.begin(), message_digest.end());
  m_prime.insert(m_prime.end(), salt.begin(), salt.end());
  Bytes h = hash_of(hash, m_prime.data(), m_prime.size());
  if (h.size() != h_length) return std::nullopt;

  // DB = PS || 01 || salt, masked with MGF1(H).
  const std::size_t db_length = em_length - h_length - 1;
  Bytes em(k, 0x00);
  std::uint8_t* masked_db = em.data() + (k - em_length);
  masked_db[db_length - salt_length - 1] = 0x01;
  std::copy(salt.begin(), salt.end(), masked_db + (db_length - salt_length));
  Bytes mask(db_length);
  if (!mgf1(mgf1_hash, h.data(), h.size(), mask.data(), mask.size())) return std::nullopt;
  for (std::size_t i = 0; i < db_length; ++i) masked_db[i] ^= mask[i];
  // Clear the leftmost 8 * emLen - emBits bits.
  masked_db[0] &= static_cast<std::uint8_t>(0xFF >> (8 * em_length - em_bits));
  std::copy(h.begin(), h.end(), masked_db + db_length);
  masked_db[db_length + h_length] = 0xBC;
  return em;
}

// ---- RSAES-OAEP decoding (RFC 8017 7.1.2 step 3) ------------------------------------------

// All checks run to the end whatever the data; only the final verdict branches.
std::optional<Bytes> oaep_decode(const Bytes& encoded, Hash hash, Hash mgf1_hash,
                                 const Bytes& label) {
  const std::size_t h_length = hash_length(hash);
  const std::size_t k = encoded.size();
  if (h_length == 0 || hash_length(mgf1_hash) == 0 || k < 2 * h_length + 2) return std::nullopt;
  const Bytes l_hash = hash_of(hash, label.data(), label.size());
  if (l_hash.size() != h_length) return std::nullopt;

  const std::size_t db_length = k - h_length - 1;
  const std::uint8_t* masked_seed = encoded.data() + 1;
  const std::uint8_t* masked_db = encoded.data() + 1 + h_length;

  Bytes seed(h_length);
  Wiped wipe_seed(seed);
  Bytes db(db_length);
  Wiped wipe_db(db);
  if (!mgf1(mgf1_hash, masked_db, db_length, seed.data(), h_length)) return std::nullopt;
  for (std::size_t i = 0; i < h_length; ++i) seed[i] ^= masked_seed[i];
  if (!mgf1(mgf1_hash, seed.data(), h_length, db.data(), db_length)) return std::nullopt;
  for (std::size_t i = 0; i < db_length; ++i) db[i] ^= masked_db[i];

  unsigned good = ct_eq(encoded[0], 0x00);
  for (std::size_t i = 0; i < h_length; ++i) good &= ct_eq(db[i], l_hash[i]);
  // DB = lHash' || PS (zeros) || 01 || M
  unsigned found = 0;
  unsigned one_index = 0;
  for (std::size_t i = h_length; i < db_length; ++i) {
    unsigned is_one = ct_eq(db[i], 0x01);
    unsigned is_zero = ct_eq(db[i], 0x00);
    one_index = ct_select(~found & is_one, static_cast<unsigned>(i), one_index);
    good &= found | is_zero | is_one;
    found |= is_one;
  }
  good &= found;
  if (good == 0) return std::nullopt;
  return Bytes(db.begin() + static_cast<std::ptrdiff_t>(one_index) + 1, db.end());
}

// ---- ECDSA --------------------------------------------------------------------------------

std::optional<Bytes> ecdsa_der_to_raw(const Bytes& der, std::size_t field_bytes_) {
  if (field_bytes_ == 0 || field_bytes_ > 66) return std::nullopt;
  DerReader outer(der.data(), der.size());
  std::uint8_t tag = 0;
  const std::uint8_t* sequence = nullptr;
  std::size_t sequence_length = 0;
  if (!outer.next(tag, sequence, sequence_length) || tag != 0x30 || !outer.at_end())
    return std::nullopt;
  DerReader inner(sequence, sequence_length);
  Bytes raw(2 * field_bytes_, 0x00);
  for (std::size_t part = 0; part < 2; ++part) {
    const std::uint8_t* value = nullptr;
    std::size_t length = 0;
    const std::uint8_t* magnitude = nullptr;
    std::size_t magnitude_length = 0;
    if (!inner.next(tag, value, length) || tag != 0x02 ||
        !der_positive_integer(value, length, field_bytes_, magnitude, magnitude_length)) {
      return std::nullopt;
    }
    std::memcpy(raw.data() + (part + 1) * field_bytes_ - magnitude_length, magnitude,
                magnitude_length);
  }
  if (!inner.at_end()) return std::nullopt;
  return raw;
}

// ---- EC parameters and points ---------------------------------------------------------------

namespace {

// Every Curve names a row (encoding.hpp); the P-256 row stands in for a value cast from
// anything else.
const protocol::KeyAlgorithm& row_of(Curve c) {
  const protocol::KeyAlgorithm* row = protocol::key_algorithm(static_cast<std::uint8_t>(c));
  return row ? *row : *protocol::key_algorithm(static_cast<std::uint8_t>(Curve::p256));
}

}  // namespace

Bytes ec_params(Curve c) {
  const protocol::KeyAlgorithm& row = row_of(c);
  Bytes der{0x06, row.curve_oid_length};  // OBJECT IDENTIFIER
  der.insert(der.end(), row.curve_oid, row.curve_oid + row.curve_oid_length);
  return der;
}

std::optional<Curve> curve_from_params(const Bytes& der_params) {
  for (const protocol::KeyAlgorithm& row : protocol::kKeyAlgorithms) {
    if (row.family == protocol::KeyFamily::ec &&
        der_params == ec_params(static_cast<Curve>(row.id))) {
      return static_cast<Curve>(row.id);
    }
  }
  return std::nullopt;
}

std::size_t field_bytes(Curve c) { return row_of(c).field_bytes; }

std::optional<Curve> curve_of_algorithm(std::uint8_t piv_algorithm) {
  const protocol::KeyAlgorithm* row = protocol::key_algorithm(piv_algorithm);
  if (!row || row->family != protocol::KeyFamily::ec) return std::nullopt;
  return static_cast<Curve>(row->id);
}

namespace {

std::optional<Curve> curve_named(const char* nist_name) {
  for (const protocol::KeyAlgorithm& row : protocol::kKeyAlgorithms) {
    if (row.family == protocol::KeyFamily::ec && std::strcmp(row.curve_name, nist_name) == 0) {
      return static_cast<Curve>(row.id);
    }
  }
  return std::nullopt;
}

}  // namespace

Bytes ec_point_attribute(const Bytes& uncompressed_point) {
  Bytes out;
  der_tlv(out, 0x04, uncompressed_point);
  return out;
}

std::optional<Bytes> unwrap_ec_point(const Bytes& value, Curve c) {
  const std::size_t n = point_length(c);
  if (is_raw_point(value.data(), value.size(), c)) return value;
  DerReader reader(value.data(), value.size());
  std::uint8_t tag = 0;
  const std::uint8_t* inner = nullptr;
  std::size_t inner_length = 0;
  if (reader.next(tag, inner, inner_length) && tag == 0x04 && reader.at_end() &&
      is_raw_point(inner, inner_length, c)) {
    return Bytes(inner, inner + n);
  }
  return std::nullopt;
}

// ---- SubjectPublicKeyInfo -------------------------------------------------------------------

// SEQUENCE { AlgorithmIdentifier rsaEncryption NULL, BIT STRING { RSAPublicKey } };
// empty when the modulus or exponent is zero.
Bytes rsa_spki(const Bytes& modulus, const Bytes& exponent) {
  Bytes n = strip_leading_zeros(modulus.data(), modulus.size());
  Bytes e = strip_leading_zeros(exponent.data(), exponent.size());
  if (n.empty() || e.empty()) return {};
  Bytes integers;
  der_unsigned_integer(integers, n);
  der_unsigned_integer(integers, e);
  Bytes rsa_public_key;
  der_tlv(rsa_public_key, 0x30, integers);
  Bytes bit_string{0x00};
  bit_string.insert(bit_string.end(), rsa_public_key.begin(), rsa_public_key.end());
  Bytes body(std::begin(kOidRsaEncryptionAlgorithm), std::end(kOidRsaEncryptionAlgorithm));
  der_tlv(body, 0x03, bit_string);
  Bytes out;
  der_tlv(out, 0x30, body);
  return out;
}

// SEQUENCE { AlgorithmIdentifier id-ecPublicKey namedCurve, BIT STRING point }; empty when
// the point is not 04 || X || Y for the curve.
Bytes ec_spki(Curve c, const Bytes& uncompressed_point) {
  if (!is_raw_point(uncompressed_point.data(), uncompressed_point.size(), c)) return {};
  Bytes algorithm(std::begin(kOidEcPublicKey), std::end(kOidEcPublicKey));
  Bytes params = ec_params(c);
  algorithm.insert(algorithm.end(), params.begin(), params.end());
  Bytes body;
  der_tlv(body, 0x30, algorithm);
  Bytes bit_string{0x00};
  bit_string.insert(bit_string.end(), uncompressed_point.begin(), uncompressed_point.end());
  der_tlv(body, 0x03, bit_string);
  Bytes out;
  der_tlv(out, 0x30, body);
  return out;
}

// ---- certificates -----------------------------------------------------------------------------

namespace {

// X.509's universal DER tags (X.690 section 8), not PIV's.
constexpr std::uint16_t kDerInteger = 0x02, kDerBitString = 0x03, kDerSequence = 0x30,
                        kDerVersion = 0xA0;  // TBSCertificate's [0] EXPLICIT version

// The next element of a DER sequence's contents, which must have `tag`.
bool next_element(protocol::TlvReader& reader, std::uint16_t tag, protocol::Tlv& out) {
  return reader.next(out) && out.tag == tag;
}

Bytes bytes_of(protocol::Bytes b) { return Bytes(b.begin(), b.end()); }

// The subject's first common name as UTF-8, through OpenSSL's Name decoder (which converts
// BMPString and the other string types); empty when there is none.
std::string common_name(const Bytes& name_der) {
  const unsigned char* p = name_der.data();
  X509_NAME* name = d2i_X509_NAME(nullptr, &p, static_cast<long>(name_der.size()));
  if (name == nullptr) return {};
  std::string out;
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  const X509_NAME_ENTRY* entry = index < 0 ? nullptr : X509_NAME_get_entry(name, index);
  const ASN1_STRING* data = entry == nullptr ? nullptr : X509_NAME_ENTRY_get_data(entry);
  unsigned char* utf8 = nullptr;
  const int length = data == nullptr ? -1 : ASN1_STRING_to_UTF8(&utf8, data);
  if (length > 0) out.assign(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  X509_NAME_free(name);
  return out;
}

}  // namespace

// The fields are DER elements of the TBSCertificate (RFC 5280 section 4.1), taken as they are.
// d2i_X509 would also decode the public key, which OpenSSL 3 does through its provider
// decoders at about 0.3 ms a certificate; the module never needs that key object.
std::optional<CertificateFields> parse_certificate(const Bytes& der) {
  protocol::Bytes certificate;
  if (!protocol::expect_single_tlv(protocol::Bytes(der.data(), der.size()), kDerSequence,
                                   certificate))
    return std::nullopt;  // trailing bytes are not a certificate
  protocol::TlvReader outer(certificate);
  protocol::Tlv tbs, element, ignored;
  if (!next_element(outer, kDerSequence, tbs)) return std::nullopt;
  protocol::TlvReader field(tbs.value);
  CertificateFields fields;
  if (!field.next(element)) return std::nullopt;
  if (element.tag == kDerVersion && !field.next(element)) return std::nullopt;  // [0] version
  if (element.tag != kDerInteger) return std::nullopt;
  fields.serial_number = bytes_of(element.whole);
  if (!next_element(field, kDerSequence, ignored)) return std::nullopt;  // signature algorithm
  if (!next_element(field, kDerSequence, element)) return std::nullopt;
  fields.issuer = bytes_of(element.whole);
  if (!next_element(field, kDerSequence, ignored)) return std::nullopt;  // validity
  if (!next_element(field, kDerSequence, element)) return std::nullopt;
  fields.subject = bytes_of(element.whole);
  if (!next_element(field, kDerSequence, element)) return std::nullopt;
  fields.spki = bytes_of(element.whole);
  // signatureAlgorithm and signatureValue close the certificate.
  if (!next_element(outer, kDerSequence, ignored) || !next_element(outer, kDerBitString, ignored) ||
      !outer.at_end() || field.failed()) {
    return std::nullopt;
  }
  fields.common_name = common_name(fields.subject);
  return fields;
}

// ---- public keys --------------------------------------------------------------------------

// The token's public-key template (certkey::protocol reads it), with the modulus and
// exponent as integers without leading zeros and the point checked against the curve.
std::optional<PublicKeyParts> parse_public_key_template(const Bytes& contents, bool rsa,
                                                        Curve curve) {
  protocol::PublicKeyTemplate fields;
  if (!protocol::read_public_key_template(protocol::Bytes(contents.data(), contents.size()), rsa,
                                          fields)) {
    return std::nullopt;
  }
  PublicKeyParts parts;
  parts.is_rsa = rsa;
  parts.curve = curve;
  if (rsa) {
    parts.modulus = strip_leading_zeros(fields.modulus.data(), fields.modulus.size());
    parts.exponent = strip_leading_zeros(fields.exponent.data(), fields.exponent.size());
    if (parts.modulus.empty() || parts.exponent.empty()) return std::nullopt;
  } else {
    if (!is_raw_point(fields.point.data(), fields.point.size(), curve)) return std::nullopt;
    parts.point.assign(fields.point.begin(), fields.point.end());
  }
  return parts;
}

// RSA (rsaEncryption) and EC keys on P-256 or P-384; anything else is nullopt.
std::optional<PublicKeyParts> parse_spki(const Bytes& spki) {
  if (spki.empty() || spki.size() > static_cast<std::size_t>(LONG_MAX)) return std::nullopt;
  const unsigned char* p = spki.data();
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (!key || p != spki.data() + spki.size()) return std::nullopt;
  PublicKeyParts parts;
  if (EVP_PKEY_is_a(key.get(), "RSA")) {
    parts.is_rsa = true;
    if (!bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N, parts.modulus) ||
        !bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E, parts.exponent) || parts.modulus.empty() ||
        parts.exponent.empty()) {
      return std::nullopt;
    }
    return parts;
  }
  if (!EVP_PKEY_is_a(key.get(), "EC")) return std::nullopt;
  char group[64] = {};
  std::size_t group_length = 0;
  if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &group_length) != 1) {
    return std::nullopt;
  }
  // OpenSSL names the group by its SEC name ("prime256v1"); the table has the NIST one.
  const char* nist = EC_curve_nid2nist(OBJ_txt2nid(group));
  const std::optional<Curve> curve = nist ? curve_named(nist) : std::nullopt;
  if (!curve) return std::nullopt;
  parts.curve = *curve;
  // From the coordinates, so that a compressed point in the SPKI still comes out uncompressed.
  const std::size_t n = field_bytes(parts.curve);
  parts.point.assign(1 + 2 * n, 0x04);
  if (!bn_param_padded(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, n, parts.point.data() + 1) ||
      !bn_param_padded(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, n, parts.point.data() + 1 + n)) {
    return std::nullopt;
  }
  return parts;
}

// Throws std::runtime_error when the generator fails: there is no safe empty answer.
Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  if (n > static_cast<std::size_t>(INT_MAX) ||
      (n != 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1)) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

}  // namespace certkey::p11
