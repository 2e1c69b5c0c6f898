#include <certkey/card/error.hpp>
#include <certkey/card/openssl_ptr.hpp>
#include <certkey/card/token_client.hpp>
#include <certkey/protocol/aid.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/limits.hpp>
#include <certkey/protocol/tags.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

namespace certkey::card {
namespace {

using protocol::CertkeyIns;
using protocol::Ins;
constexpr std::uint8_t iso(Ins i) { return static_cast<std::uint8_t>(i); }
constexpr std::uint8_t ext(CertkeyIns i) { return static_cast<std::uint8_t>(i); }

void require_ok(const Response& r, const std::string& what) {
  if (!r.ok()) {
    char sw[8];
    std::snprintf(sw, sizeof sw, "%04X", r.sw);
    throw Error(Error::Kind::refused, what + " refused by the token (SW " + sw + ")", r.sw);
  }
}

std::uint32_t be32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

// Minimal TLV walk over a flat list of one-byte tags with short lengths (TOKEN INFO).
template <typename F>
void each_tlv(const Bytes& data, F&& f) {
  std::size_t pos = 0;
  while (pos + 2 <= data.size()) {
    std::uint8_t tag = data[pos], length = data[pos + 1];
    if (length >= 0x80 || pos + 2 + length > data.size()) throw Error(Error::Kind::bad_response, "malformed TLV");
    f(tag, Bytes(data.begin() + static_cast<long>(pos + 2), data.begin() + static_cast<long>(pos + 2 + length)));
    pos += 2 + length;
  }
}

const EVP_CIPHER* cipher_for(protocol::Algorithm a) {
  switch (a) {
    case protocol::Algorithm::tdes: return EVP_des_ede3_ecb();
    case protocol::Algorithm::aes128: return EVP_aes_128_ecb();
    case protocol::Algorithm::aes192: return EVP_aes_192_ecb();
    case protocol::Algorithm::aes256: return EVP_aes_256_ecb();
    default: throw Error(Error::Kind::bad_input, "not a management key algorithm");
  }
}

Bytes ecb(const EVP_CIPHER* cipher, const Bytes& key, const Bytes& in, bool encrypt) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  Bytes out(in.size());
  int n = 0;
  if (!ctx || static_cast<std::size_t>(EVP_CIPHER_key_length(cipher)) != key.size() ||
      EVP_CipherInit_ex2(ctx.get(), cipher, key.data(), nullptr, encrypt, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), out.data(), &n, in.data(), static_cast<int>(in.size())) != 1) {
    throw Error(Error::Kind::bad_input, "management key has the wrong length for its algorithm");
  }
  return out;
}

}  // namespace

Bytes pin_block(const std::string& pin) {
  if (pin.size() < protocol::kMinPinLength || pin.size() > protocol::kPinBlockLength) {
    throw Error(Error::Kind::bad_input, "a PIN has 6 to 8 characters");
  }
  Bytes block;
  block.reserve(protocol::kPinBlockLength);  // one allocation: no PIN copy left in a freed buffer
  block.assign(pin.begin(), pin.end());
  block.resize(protocol::kPinBlockLength, protocol::kPinPadByte);
  return block;
}

Response TokenClient::send(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, Bytes data) {
  Command c;
  c.cla = cla;
  c.ins = ins;
  c.p1 = p1;
  c.p2 = p2;
  c.data = std::move(data);
  return connection_.transmit(c);
}

void TokenClient::select_piv() {
  Bytes aid(protocol::kPivAid.begin(), protocol::kPivAid.begin() + protocol::kPivAidPrefixLength);
  require_ok(send(protocol::kClaIso, iso(Ins::select), 0x04, 0x00, aid), "SELECT PIV");
}

void TokenClient::open_logical_channel() {
  connection_.use_channel(0);
  Response r = send(protocol::kClaIso, iso(Ins::manage_channel), protocol::kManageChannelOpen, 0x00);
  require_ok(r, "MANAGE CHANNEL");
  if (r.data.size() != 1 || r.data[0] == 0 || r.data[0] >= protocol::kLogicalChannels) {
    throw Error(Error::Kind::bad_response, "MANAGE CHANNEL returned no usable channel");
  }
  connection_.use_channel(r.data[0]);
}

void TokenClient::close_logical_channel() {
  const std::uint8_t channel = connection_.channel();
  if (channel == 0) return;
  connection_.use_channel(0);
  send(protocol::kClaIso, iso(Ins::manage_channel), protocol::kManageChannelClose, channel);
}

TokenInfo TokenClient::token_info() {
  Response r = send(protocol::kClaCertkey, ext(CertkeyIns::token_info), 0, 0);
  require_ok(r, "TOKEN INFO");
  TokenInfo info;
  namespace tag = protocol::tag;
  each_tlv(r.data, [&](std::uint8_t t, const Bytes& v) {
    if (t == tag::kInfoSerial && v.size() == 4) info.serial = be32(v, 0);
    if (t == tag::kInfoMedium && v.size() == 1) info.medium = static_cast<protocol::Medium>(v[0]);
    if (t == tag::kInfoFirmware && v.size() == 3) info.firmware = {v[0], v[1], v[2]};
    if (t == tag::kInfoChangeCounter && v.size() == 4) info.change_counter = be32(v, 0);
    if (t == tag::kInfoPolicy && v.size() == 1) info.policy = v[0];
    if (t == tag::kInfoUnlockRetries && v.size() == 2) info.unlock_retries = std::make_pair(int{v[0]}, int{v[1]});
    if ((t == tag::kInfoPinState || t == tag::kInfoPukState) && v.size() == 3) {
      (t == tag::kInfoPinState ? info.pin : info.puk) = PinState{v[0], v[1], v[2] != 0};
    }
  });
  return info;
}

Response TokenClient::verify_pin(const std::string& pin) {
  Bytes data = pin.empty() ? Bytes{} : pin_block(pin);
  Response r = send(protocol::kClaIso, iso(Ins::verify), 0x00,
                    static_cast<std::uint8_t>(protocol::KeyRef::pin), std::move(data));
  return r;
}

void TokenClient::authenticate_management(const Bytes& key, protocol::Algorithm algorithm) {
  const EVP_CIPHER* cipher = cipher_for(algorithm);
  const std::size_t block = static_cast<std::size_t>(EVP_CIPHER_block_size(cipher));
  const auto alg = static_cast<std::uint8_t>(algorithm);
  const auto ref = static_cast<std::uint8_t>(protocol::KeyRef::management);
  Response witness = send(protocol::kClaIso, iso(Ins::general_authenticate), alg, ref, {0x7C, 0x02, 0x80, 0x00});
  require_ok(witness, "management key witness");
  if (witness.data.size() != 4 + block || witness.data[0] != 0x7C || witness.data[2] != 0x80) {
    throw Error(Error::Kind::bad_response, "malformed witness");
  }
  Bytes encrypted(witness.data.begin() + 4, witness.data.end());
  Bytes decrypted = ecb(cipher, key, encrypted, false);
  Bytes challenge(block);
  RAND_bytes(challenge.data(), static_cast<int>(block));
  Bytes data{0x7C, static_cast<std::uint8_t>(4 + 2 * block), 0x80, static_cast<std::uint8_t>(block)};
  data.insert(data.end(), decrypted.begin(), decrypted.end());
  data.insert(data.end(), {0x81, static_cast<std::uint8_t>(block)});
  data.insert(data.end(), challenge.begin(), challenge.end());
  Response answer = send(protocol::kClaIso, iso(Ins::general_authenticate), alg, ref, std::move(data));
  require_ok(answer, "management key authentication");
  Bytes expected = ecb(cipher, key, challenge, true);
  if (answer.data.size() != 4 + block || !std::equal(expected.begin(), expected.end(), answer.data.begin() + 4)) {
    throw Error(Error::Kind::bad_response, "the token did not prove knowledge of the management key");
  }
}

void TokenClient::set_unlock_key(const Bytes& key, std::uint8_t retries) {
  if (key.size() != protocol::kUnlockKeyLength) throw Error(Error::Kind::bad_input, "unlock key must be 32 bytes");
  require_ok(send(protocol::kClaCertkey, ext(CertkeyIns::set_unlock_key), retries, 0, key), "SET UNLOCK KEY");
}

void TokenClient::swap_slots(std::uint8_t a, std::uint8_t b) {
  if (!protocol::is_user_key_slot(a) || !protocol::is_user_key_slot(b) || a == b) {
    throw Error(Error::Kind::bad_input,
                "SWAP SLOTS takes two different key slots: 9A, 9C, 9D, 9E or 82-95");
  }
  require_ok(send(protocol::kClaCertkey, ext(CertkeyIns::swap_slots), a, b), "SWAP SLOTS");
}

unlock::Code TokenClient::unlock_challenge() {
  Response r = send(protocol::kClaCertkey, ext(CertkeyIns::unlock_challenge), 0, 0);
  require_ok(r, "UNLOCK CHALLENGE");
  unlock::Code code{};
  if (r.data.size() != code.size()) throw Error(Error::Kind::bad_response, "challenge has the wrong length");
  std::copy(r.data.begin(), r.data.end(), code.begin());
  return code;
}

Response TokenClient::unlock_with_response(const unlock::Code& response, const std::string& new_pin) {
  Bytes data;
  data.reserve(response.size() + protocol::kPinBlockLength);
  data.assign(response.begin(), response.end());
  Bytes block = pin_block(new_pin);
  data.insert(data.end(), block.begin(), block.end());
  wipe(block);
  return send(protocol::kClaCertkey, ext(CertkeyIns::unlock_response), 0, 0, std::move(data));
}

}  // namespace certkey::card
