// TokenClient: PIN management, keys and data objects (docs/protocol.md).
#include <certkey/card/error.hpp>
#include <certkey/card/token_client.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/limits.hpp>
#include <certkey/protocol/piv_payloads.hpp>
#include <certkey/protocol/tags.hpp>

#include "command_support.hpp"
#include "tlv_bytes.hpp"

namespace certkey::card {
namespace {

using protocol::Ins;
namespace tag = protocol::tag;

Bytes tag_list(std::uint32_t object_id) {
  Bytes id;
  for (int shift = 16; shift >= 0; shift -= 8) {
    if (object_id >> shift || !id.empty() || shift == 0)
      id.push_back(static_cast<std::uint8_t>(object_id >> shift));
  }
  Bytes out;
  append_tlv(out, tag::kTagList, id);
  return out;
}

}  // namespace

void TokenClient::logout() {
  send(protocol::kClaIso, iso(Ins::verify), protocol::kVerifyP1Logout,
       static_cast<std::uint8_t>(protocol::KeyRef::pin));
}

Response TokenClient::change_reference(protocol::KeyRef reference, const std::string& old_value,
                                       const std::string& new_value) {
  Bytes data;
  data.reserve(2 * protocol::kPinBlockLength);  // no reallocation over the old value
  Bytes old_block = pin_block(old_value), next = pin_block(new_value);
  data.insert(data.end(), old_block.begin(), old_block.end());
  data.insert(data.end(), next.begin(), next.end());
  wipe(old_block);
  wipe(next);
  return send(protocol::kClaIso, iso(Ins::change_reference_data), 0,
              static_cast<std::uint8_t>(reference), std::move(data));
}

Response TokenClient::unblock_pin(const std::string& puk, const std::string& new_pin) {
  Bytes data;
  data.reserve(2 * protocol::kPinBlockLength);
  Bytes puk_block = pin_block(puk), next = pin_block(new_pin);
  data.insert(data.end(), puk_block.begin(), puk_block.end());
  data.insert(data.end(), next.begin(), next.end());
  wipe(puk_block);
  wipe(next);
  return send(protocol::kClaIso, iso(Ins::reset_retry_counter), 0,
              static_cast<std::uint8_t>(protocol::KeyRef::pin), std::move(data));
}

namespace {

// GET METADATA's answer, read; refused or malformed answers throw. The public key is a view
// into `r`, so it is copied before `r` goes.
protocol::Metadata metadata_of(const Response& r) {
  require_ok(r, "GET METADATA");
  protocol::Metadata m;
  if (!protocol::read_metadata(view(r.data), m))
    throw Error(Error::Kind::bad_response, "malformed metadata");
  return m;
}

}  // namespace

PinState TokenClient::pin_state(protocol::KeyRef reference) {
  const protocol::Metadata m = metadata_of(
      send(protocol::kClaIso, iso(Ins::get_metadata), 0, static_cast<std::uint8_t>(reference)));
  if (!m.has_retries) throw Error(Error::Kind::bad_response, "metadata without retries");
  return PinState{m.retry_limit, m.retries_left, m.has_is_default && m.is_default};
}

ManagementKeyInfo TokenClient::management_key_info() {
  const protocol::Metadata m =
      metadata_of(send(protocol::kClaIso, iso(Ins::get_metadata), 0,
                       static_cast<std::uint8_t>(protocol::KeyRef::management)));
  if (!m.has_algorithm) throw Error(Error::Kind::bad_response, "metadata without algorithm");
  return ManagementKeyInfo{static_cast<protocol::Algorithm>(m.algorithm),
                           m.has_is_default && m.is_default};
}

std::vector<KeyEntry> TokenClient::list_keys() {
  Response r = send(protocol::kClaCertkey, ext(protocol::CertkeyIns::list_keys), 0, 0);
  require_ok(r, "LIST KEYS");
  std::size_t count = 0;
  if (!protocol::key_list_count(view(r.data), count))
    throw Error(Error::Kind::bad_response, "LIST KEYS length");
  std::vector<KeyEntry> entries;
  for (std::size_t i = 0; i < count; ++i) {
    const protocol::KeyListEntry e = protocol::read_key_list_entry(view(r.data), i);
    entries.push_back(KeyEntry{e.slot, e.algorithm, static_cast<protocol::PinPolicy>(e.pin_policy),
                               e.touch_policy, e.origin, e.certificate_length});
  }
  return entries;
}

std::optional<Bytes> TokenClient::read_object(std::uint32_t object_id) {
  Response r = send(protocol::kClaIso, iso(Ins::get_data), 0x3F, 0xFF, tag_list(object_id));
  if (r.sw == protocol::to_u16(protocol::Sw::not_found)) return std::nullopt;
  require_ok(r, "GET DATA");
  auto value = tlv_value(r.data, tag::kData);
  if (!value) throw Error(Error::Kind::bad_response, "GET DATA answer without tag 53");
  return value;
}

void TokenClient::write_object(std::uint32_t object_id, const Bytes& content) {
  if (content.size() > protocol::kMaxDataObject)
    throw Error(Error::Kind::bad_input, "object too large for the token");
  Bytes data = tag_list(object_id);
  append_tlv(data, tag::kData, content);
  require_ok(send(protocol::kClaIso, iso(Ins::put_data), 0x3F, 0xFF, std::move(data)), "PUT DATA");
}

Bytes TokenClient::generate_key(std::uint8_t slot, protocol::Algorithm algorithm) {
  Bytes control;
  append_tlv(control, tag::kAlgorithm, {static_cast<std::uint8_t>(algorithm)});
  Bytes data;
  append_tlv(data, tag::kControlReference, control);
  Response r =
      send(protocol::kClaIso, iso(Ins::generate_asymmetric_key_pair), 0, slot, std::move(data));
  require_ok(r, "GENERATE");
  protocol::Bytes contents;
  if (!protocol::read_generated_key(view(r.data), contents)) {
    throw Error(Error::Kind::bad_response, "GENERATE answer without 7F49");
  }
  return Bytes(contents.begin(), contents.end());
}

Bytes TokenClient::public_key(std::uint8_t slot) {
  const Response r = send(protocol::kClaIso, iso(Ins::get_metadata), 0, slot);
  const protocol::Metadata m = metadata_of(r);  // its public key is a view into r
  if (!m.has_public_key) throw Error(Error::Kind::bad_response, "metadata without public key");
  return Bytes(m.public_key.begin(), m.public_key.end());
}

Response TokenClient::private_key_operation(std::uint8_t slot, protocol::Algorithm algorithm,
                                            const Bytes& input) {
  return general_authenticate(slot, algorithm, tag::kChallenge, input);
}

Response TokenClient::ecdh(std::uint8_t slot, protocol::Algorithm algorithm,
                           const Bytes& peer_point) {
  return general_authenticate(slot, algorithm, tag::kExponentiation, peer_point);
}

// 7C{82 00, <input_tag> input} -> 7C{82 result}; the result replaces the response data.
Response TokenClient::general_authenticate(std::uint8_t slot, protocol::Algorithm algorithm,
                                           std::uint16_t input_tag, const Bytes& input) {
  Bytes inner;
  append_tlv(inner, tag::kResponse, {});  // asks for the result
  append_tlv(inner, input_tag, input);
  Command c;
  c.cla = protocol::kClaIso;
  c.ins = iso(Ins::general_authenticate);
  c.p1 = static_cast<std::uint8_t>(algorithm);
  c.p2 = slot;
  append_tlv(c.data, tag::kDynamicAuth, inner);
  wipe(inner);
  Response r = connection_.transmit(c);
  if (!r.ok()) return r;
  auto outer = tlv_value(r.data, tag::kDynamicAuth);
  auto result = outer ? tlv_value(*outer, tag::kResponse) : std::nullopt;
  if (!result) throw Error(Error::Kind::bad_response, "GENERAL AUTHENTICATE answer without 7C/82");
  r.data = std::move(*result);
  return r;
}

Bytes TokenClient::challenge() {
  Response r = send(protocol::kClaIso, iso(Ins::get_challenge), 0, 0);
  require_ok(r, "GET CHALLENGE");
  if (r.data.empty() || r.data.size() > protocol::kMaxChallenge) {
    throw Error(Error::Kind::bad_response, "GET CHALLENGE answered no random bytes");
  }
  return std::move(r.data);
}

void TokenClient::delete_key(std::uint8_t slot) {
  require_ok(send(protocol::kClaIso, iso(Ins::move_key), protocol::kMoveKeyDelete, slot),
             "DELETE KEY");
}

void TokenClient::move_key(std::uint8_t from, std::uint8_t to) {
  require_ok(send(protocol::kClaIso, iso(Ins::move_key), to, from), "MOVE KEY");
}

}  // namespace certkey::card
