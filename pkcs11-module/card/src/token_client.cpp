#include <certkey/card/error.hpp>
#include <certkey/card/openssl_ptr.hpp>
#include <certkey/card/token_client.hpp>
#include <certkey/protocol/aid.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/limits.hpp>
#include <certkey/protocol/tags.hpp>
#include <certkey/protocol/token_info.hpp>

#include "command_support.hpp"
#include "tlv_bytes.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

namespace certkey::card {
namespace {

using protocol::CertkeyIns;
using protocol::Ins;
namespace tag = protocol::tag;

// 7C { fields }: the dynamic authentication template of GENERAL AUTHENTICATE.
Bytes dynamic_auth(const Bytes& fields) {
  Bytes out;
  append_tlv(out, tag::kDynamicAuth, fields);
  return out;
}

std::optional<Bytes> dynamic_auth_field(const Response& r, std::uint16_t field) {
  const std::optional<Bytes> outer = tlv_value(r.data, tag::kDynamicAuth);
  return outer ? tlv_value(*outer, field) : std::nullopt;
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

Response TokenClient::send(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                           Bytes data) {
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
  Response r =
      send(protocol::kClaIso, iso(Ins::manage_channel), protocol::kManageChannelOpen, 0x00);
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
  protocol::TokenInfo fields;
  if (!protocol::read_token_info(view(r.data), fields))
    throw Error(Error::Kind::bad_response, "malformed TOKEN INFO");
  TokenInfo info;
  info.serial = fields.serial;
  info.medium = fields.medium;
  info.firmware = {fields.firmware[0], fields.firmware[1], fields.firmware[2]};
  info.change_counter = fields.change_counter;
  info.policy = fields.policy;
  if (fields.has_unlock_key)
    info.unlock_retries = std::make_pair(int{fields.unlock_limit}, int{fields.unlock_left});
  if (fields.has_pin_state)
    info.pin = PinState{fields.pin.limit, fields.pin.left, fields.pin.is_default};
  if (fields.has_puk_state)
    info.puk = PinState{fields.puk.limit, fields.puk.left, fields.puk.is_default};
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
  Bytes request;
  append_tlv(request, tag::kWitness, {});
  Response witness =
      send(protocol::kClaIso, iso(Ins::general_authenticate), alg, ref, dynamic_auth(request));
  require_ok(witness, "management key witness");
  const std::optional<Bytes> encrypted = dynamic_auth_field(witness, tag::kWitness);
  if (!encrypted || encrypted->size() != block)
    throw Error(Error::Kind::bad_response, "malformed witness");
  Bytes decrypted = ecb(cipher, key, *encrypted, false);
  Bytes challenge(block);
  RAND_bytes(challenge.data(), static_cast<int>(block));
  Bytes fields;
  append_tlv(fields, tag::kWitness, decrypted);
  append_tlv(fields, tag::kChallenge, challenge);
  Bytes data = dynamic_auth(fields);
  wipe(decrypted);
  wipe(fields);
  Response answer =
      send(protocol::kClaIso, iso(Ins::general_authenticate), alg, ref, std::move(data));
  require_ok(answer, "management key authentication");
  Bytes expected = ecb(cipher, key, challenge, true);
  if (dynamic_auth_field(answer, tag::kResponse) != expected) {
    throw Error(Error::Kind::bad_response,
                "the token did not prove knowledge of the management key");
  }
}

void TokenClient::set_unlock_key(const Bytes& key, std::uint8_t retries) {
  if (key.size() != protocol::kUnlockKeyLength)
    throw Error(Error::Kind::bad_input, "unlock key must be 32 bytes");
  require_ok(send(protocol::kClaCertkey, ext(CertkeyIns::set_unlock_key), retries, 0, key),
             "SET UNLOCK KEY");
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
  if (r.data.size() != code.size())
    throw Error(Error::Kind::bad_response, "challenge has the wrong length");
  std::copy(r.data.begin(), r.data.end(), code.begin());
  return code;
}

Response TokenClient::unlock_with_response(const unlock::Code& response,
                                           const std::string& new_pin) {
  Bytes data;
  data.reserve(response.size() + protocol::kPinBlockLength);
  data.assign(response.begin(), response.end());
  Bytes block = pin_block(new_pin);
  data.insert(data.end(), block.begin(), block.end());
  wipe(block);
  return send(protocol::kClaCertkey, ext(CertkeyIns::unlock_response), 0, 0, std::move(data));
}

}  // namespace certkey::card
