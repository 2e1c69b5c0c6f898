#include "token.hpp"

#include <certkey/card/error.hpp>
#include <certkey/protocol/atr.hpp>
#include <certkey/protocol/objects.hpp>
#include <certkey/protocol/tags.hpp>
#include <openssl/crypto.h>
#include <sys/mman.h>

#include <algorithm>
#include <certkey/protocol/ins.hpp>

#include <certkey/protocol/piv_payloads.hpp>

namespace certkey::p11 {
namespace {

// certkey tokens name themselves in the ATR's historical bytes (card issuer data "ck").
bool is_certkey_atr(const std::vector<std::uint8_t>& atr) {
  const auto& m = protocol::kAtrMarker;
  return std::search(atr.begin(), atr.end(), m.begin(), m.end()) != atr.end();
}

// A SIM keeps its USIM on the basic channel: certkey works on a logical channel of its own.
bool is_sim_atr(const std::vector<std::uint8_t>& atr) {
  const auto& sim = protocol::kSimAtr;
  return atr.size() == sim.size() && std::equal(atr.begin(), atr.end(), sim.begin());
}

Bytes certificate_from_object(const Bytes& object) {
  protocol::Bytes der;
  if (!protocol::read_certificate_object(protocol::Bytes(object.data(), object.size()), der))
    return {};
  return Bytes(der.begin(), der.end());
}

}  // namespace

// Connects and learns which token is in the reader. A different serial than before means
// the old token left (perhaps while pcscd was away): its sessions and login end.
void Token::connect() {
  auto connection = std::make_unique<card::Connection>(links_.connect(reader_));
  if (!is_certkey_atr(connection->atr())) {
    throw card::Error(card::Error::Kind::no_token, "not a certkey token in " + reader_);
  }
  card::TokenInfo info;
  sim_ = is_sim_atr(connection->atr());
  {
    card::Connection::Transaction transaction(*connection);
    card::TokenClient client(*connection);
    if (sim_) {
      client.open_logical_channel();
      client.select_piv();
      info = client.token_info();
    } else {
      try {
        info = client.token_info();
      } catch (const card::Error& e) {
        if (e.kind() != card::Error::Kind::refused) throw;
        client.select_piv();  // another application selected something else
        info = client.token_info();
      }
    }
  }
  if (serial_ != 0 && info.serial != serial_) {
    ++generation_;
    invalidate_cache();
    set_logged_out();
  }
  serial_ = info.serial;
  fresh_info_ = info;
  connection_ = std::move(connection);
}

bool Token::present(const card::ReaderState& state) {
  if (!state.card || !is_certkey_atr(state.atr)) {
    if (connection_) forget_connection();
    return false;
  }
  if (connection_ && connection_->insertion() != state.insertion) {
    if (connection_->insertion().context == state.insertion.context) {
      forget_connection();  // the card left the reader since the connect, whatever came back
    } else {
      // A new PC/SC context: pcscd restarted and counts afresh. The connect below finds the
      // token again by its serial, and keeps sessions and login if it is the same (8.4).
      connection_.reset();
      needs_recovery_ = true;
      if (connected()) return true;
      forget_connection();  // not found again: gone, as far as this process can tell
      return false;
    }
  }
  return connected();
}

bool Token::connected() {
  if (connection_) return true;
  try {
    connect();
    return true;
  } catch (const card::Error&) {
    return false;
  }
}

void Token::forget_connection() {
  ++generation_;  // sessions opened before this are over
  if (connection_ && sim_) {
    try {  // give the SIM its channel back (a departed token needs nothing)
      card::Connection::Transaction transaction(*connection_);
      card::TokenClient(*connection_).close_logical_channel();
    } catch (const card::Error&) {
    }
  }
  connection_.reset();
  invalidate_cache();
  set_logged_out();
}

void Token::abandon_after_fork() {
  (void)connection_.release();
  invalidate_cache();
  set_logged_out();
}

// After a reset or a pcscd restart: the same token (by serial), PIV selected, and the PIN
// verified again when the application is logged in. Another token means the old one left.
void Token::recover_after_reset(card::TokenClient& client) {
  if (sim_) client.open_logical_channel();  // a reset closed every logical channel
  client.select_piv();
  if (client.token_info().serial != serial_) {
    throw card::Error(card::Error::Kind::token_removed, "another token is in " + reader_);
  }
  if (user_logged_in() && !client.verify_pin(secret_).ok()) set_logged_out();
}

void Token::set_logged_in(Login who, const std::string& secret) {
  set_logged_out();
  secret_.reserve(16);  // beyond the small-string buffer's reach of reallocation: 6-8 bytes
  secret_ = secret;
  ::mlock(secret_.data(), secret_.capacity());
  login_ = who;
}

void Token::set_logged_out() {
  if (!secret_.empty()) {
    OPENSSL_cleanse(secret_.data(), secret_.size());
    ::munlock(secret_.data(), secret_.capacity());
  }
  secret_.clear();
  login_ = Login::none;
}

namespace {

bool module_knows(std::uint8_t algorithm) { return protocol::key_algorithm(algorithm) != nullptr; }

// A key slot as the module shows it, from what the token said of it (or the disk cache kept).
std::optional<KeySlot> shown(const CachedSlot& described) {
  KeySlot slot;
  slot.piv_slot = described.piv_slot;
  slot.algorithm = described.algorithm;
  slot.pin_policy = static_cast<protocol::PinPolicy>(described.pin_policy);
  slot.origin = described.origin;
  slot.certificate = described.certificate;
  if (!slot.certificate.empty()) slot.cert_fields = parse_certificate(slot.certificate);
  if (slot.has_key()) {
    const protocol::KeyAlgorithm* row = protocol::key_algorithm(described.algorithm);
    if (!row) return std::nullopt;  // an algorithm this module does not know
    const bool rsa = row->family == protocol::KeyFamily::rsa;
    const Curve curve = rsa ? Curve::p256 : static_cast<Curve>(row->id);  // unused for RSA
    slot.public_key = parse_public_key_template(described.public_key_template, rsa, curve);
  }
  return slot;
}

}  // namespace

// LIST KEYS, then each certificate (GET DATA) and each key's public half (GET METADATA), for
// every slot or those in `dirty`.
std::vector<CachedSlot> Token::read_objects(card::TokenClient& client,
                                            const std::set<std::uint8_t>* dirty) {
  std::vector<CachedSlot> slots;
  for (const card::KeyEntry& entry : client.list_keys()) {
    // The attestation key certifies the token's own keys; it is not the holder's to use.
    if (entry.slot == static_cast<std::uint8_t>(protocol::KeyRef::attestation)) continue;
    const auto kept = std::find_if(described_.begin(), described_.end(),
                                   [&](const CachedSlot& d) { return d.piv_slot == entry.slot; });
    if (dirty && !dirty->count(entry.slot) && kept != described_.end()) {
      slots.push_back(*kept);
      continue;
    }
    CachedSlot slot;
    slot.piv_slot = entry.slot;
    slot.algorithm = entry.algorithm;
    slot.pin_policy = static_cast<std::uint8_t>(entry.pin_policy);
    slot.origin = entry.origin;
    if (entry.certificate_length > 0) {
      if (auto object = client.read_object(protocol::certificate_object_for_slot(entry.slot))) {
        slot.certificate = certificate_from_object(*object);
      }
    }
    // The key's own public half, asked for: a certificate in the slot may not match the key.
    if (entry.has_key() && module_knows(entry.algorithm))
      slot.public_key_template = client.public_key(entry.slot);
    slots.push_back(std::move(slot));
  }
  return slots;
}

const std::vector<KeySlot>& Token::key_slots(card::TokenClient& client,
                                             const card::TokenInfo* known) {
  // The one APDU a warm listing costs. A cold cache right after connecting uses what the
  // connect read instead; a warm one always asks, so no change is ever shown late.
  const card::TokenInfo* reading = reading_at_hand(known);
  const card::TokenInfo info = reading ? *reading : client.token_info();
  fresh_info_.reset();
  // A reading at hand was looked up by objects_at_hand, before the transaction.
  if (!reading && objects_known_at(info)) return key_slots_;
  // Only this module's own writes since the last reading: those slots alone (note_own_write).
  const bool only_own_writes = own_writes_ && info.serial == info_.serial &&
                               info.change_counter == info_.change_counter + own_writes_->commits;
  std::vector<CachedSlot> described = !only_own_writes ? read_objects(client)
                                      : own_writes_->slots.empty()
                                          ? described_
                                          : read_objects(client, &own_writes_->slots);
  show(described, info);
  disk_cache_.store({info.serial, info.change_counter, std::move(described)});
  return key_slots_;
}

const card::TokenInfo* Token::reading_at_hand(const card::TokenInfo* known) const {
  if (known) return known;
  return fresh_info_ && !cache_valid_ ? &*fresh_info_ : nullptr;
}

const std::vector<KeySlot>* Token::objects_at_hand(const card::TokenInfo* known) {
  const card::TokenInfo* info = reading_at_hand(known);
  if (info == nullptr || !objects_known_at(*info)) return nullptr;
  fresh_info_.reset();
  return &key_slots_;
}

bool Token::objects_checked(card::TokenClient& client, CK_SESSION_HANDLE session) {
  const card::TokenInfo info = client.token_info();
  fresh_info_.reset();
  checked_for_ = session;
  checked_info_ = info;
  return objects_known_at(info);
}

// Whether the objects as of `info`'s change counter are at hand, in memory or in the disk
// cache (another process may have read this very state already, docs/pkcs11.md 7.1).
bool Token::objects_known_at(const card::TokenInfo& info) {
  if (cache_valid_ && info.change_counter == info_.change_counter) return true;
  cache_valid_ = false;  // stays false if a refresh fails half-way
  std::optional<std::vector<CachedSlot>> described =
      disk_cache_.load(info.serial, info.change_counter);
  if (!described) return false;
  show(*described, info);
  return true;
}

void Token::show(const std::vector<CachedSlot>& described, const card::TokenInfo& info) {
  std::vector<KeySlot> slots;
  for (const CachedSlot& d : described) {
    if (std::optional<KeySlot> slot = shown(d)) slots.push_back(std::move(*slot));
  }
  key_slots_ = std::move(slots);
  described_ = described;
  info_ = info;
  own_writes_.reset();
  cache_valid_ = true;
}

}  // namespace certkey::p11
