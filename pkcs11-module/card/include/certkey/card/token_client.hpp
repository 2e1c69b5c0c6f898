// The token command set as host calls: each method builds its APDUs and parses the answer.
// This library is the only host code that does either (DESIGN.md section 2).
#pragma once
#include <certkey/protocol/algorithms.hpp>
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "connection.hpp"
#include "unlock.hpp"

namespace certkey::card {

// One LIST KEYS entry: a slot with a key, a certificate, or both.
struct KeyEntry {
  std::uint8_t slot = 0;
  std::uint8_t algorithm = 0;  // protocol::Algorithm; 0 when the slot has only a certificate
  protocol::PinPolicy pin_policy = protocol::PinPolicy::default_policy;
  std::uint8_t touch_policy = 0;
  std::uint8_t origin = 0;
  std::uint16_t certificate_length = 0;
  bool has_key() const { return algorithm != 0; }
};

// PIN or PUK state from GET METADATA.
struct PinState {
  int limit = 0;
  int remaining = 0;
  bool is_default = false;
};

struct ManagementKeyInfo {
  protocol::Algorithm algorithm = protocol::Algorithm::tdes;
  bool is_default = false;
};

// protocol::TokenInfo as the host uses it: what the token may leave out is a std::optional
// here, where the freestanding reader (agent/protocol) has flags beside plain fields.
struct TokenInfo {
  std::uint32_t serial = 0;
  protocol::Medium medium = protocol::Medium::smartcard;
  std::array<std::uint8_t, 3> firmware{};
  std::uint32_t change_counter = 0;
  std::uint8_t policy = 0;
  std::optional<std::pair<int, int>> unlock_retries;  // limit, remaining; absent: no unlock key
  // PIN and PUK state (tags 07, 08); older firmware leaves them out.
  std::optional<PinState> pin;
  std::optional<PinState> puk;
};

class TokenClient {
 public:
  explicit TokenClient(Connection& connection) : connection_(connection) {}

  void select_piv();
  // MANAGE CHANNEL on the basic channel; later commands use the new channel. A SIM's basic
  // channel belongs to its USIM, so certkey hosts work on a channel of their own.
  void open_logical_channel();
  void close_logical_channel();
  TokenInfo token_info();
  // GET CHALLENGE: protocol::kMaxChallenge bytes from the token's random source.
  Bytes challenge();
  // PIN status (empty pin) or verification. The response carries 9000 / 63Cx / 6983.
  Response verify_pin(const std::string& pin);
  void authenticate_management(const Bytes& key, protocol::Algorithm algorithm);

  void logout();
  Response change_reference(protocol::KeyRef reference, const std::string& old_value,
                            const std::string& new_value);
  Response unblock_pin(const std::string& puk, const std::string& new_pin);
  PinState pin_state(protocol::KeyRef reference);
  ManagementKeyInfo management_key_info();

  // Keys and objects (docs/protocol.md).
  std::vector<KeyEntry> list_keys();
  // The value inside tag 53; nothing when the object does not exist.
  std::optional<Bytes> read_object(std::uint32_t object_id);
  // Writes an object; empty content deletes it. Needs the management key.
  void write_object(std::uint32_t object_id, const Bytes& content);
  // Returns the public key template's contents (81/82 or 86).
  Bytes generate_key(std::uint8_t slot, protocol::Algorithm algorithm);
  // Metadata tag 04: the public key template's contents.
  Bytes public_key(std::uint8_t slot);
  // GENERAL AUTHENTICATE with a private key: raw RSA, or ECDSA over a digest (DER result).
  Response private_key_operation(std::uint8_t slot, protocol::Algorithm algorithm,
                                 const Bytes& input);
  Response ecdh(std::uint8_t slot, protocol::Algorithm algorithm, const Bytes& peer_point);
  void delete_key(std::uint8_t slot);
  void move_key(std::uint8_t from, std::uint8_t to);
  // SWAP SLOTS: the two key slots exchange their keys and certificates in one commit on the
  // token (renewal's "make current"). Needs the management key. Not idempotent: after a lost
  // answer, read the slots before sending it again.
  void swap_slots(std::uint8_t a, std::uint8_t b);

  // Remote unlock (docs/unlock.md).
  void set_unlock_key(const Bytes& key, std::uint8_t retries);
  unlock::Code unlock_challenge();
  // Sends the help desk's response and the holder's new PIN; the status word tells the result.
  Response unlock_with_response(const unlock::Code& response, const std::string& new_pin);

 private:
  Response general_authenticate(std::uint8_t slot, protocol::Algorithm algorithm,
                                std::uint16_t input_tag, const Bytes& input);
  Response send(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                Bytes data = {});
  Connection& connection_;
};

// The 8-byte PIN block: 6-8 characters, right-padded with 0xFF.
Bytes pin_block(const std::string& pin);

}  // namespace certkey::card
