// One PKCS#11 slot: a PC/SC reader and the certkey token in it. Owns the connection, runs
// each operation in one PC/SC transaction, recovers from another process resetting the card
// and from pcscd restarts, and caches the token's objects against its change counter.
#pragma once
#include <certkey/card/error.hpp>
#include <certkey/card/token_client.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "encoding.hpp"
#include "object_cache.hpp"
#include "pkcs11.hpp"

namespace certkey::p11 {

// Everything the module shows for one PIV key slot.
struct KeySlot {
  std::uint8_t piv_slot = 0;
  std::uint8_t algorithm = 0;  // protocol::Algorithm; 0: certificate without key
  protocol::PinPolicy pin_policy = protocol::PinPolicy::default_policy;
  std::uint8_t origin = 0;
  Bytes certificate;  // DER; empty when none
  std::optional<CertificateFields> cert_fields;
  std::optional<PublicKeyParts> public_key;  // from the certificate, else from metadata
  bool has_key() const { return algorithm != 0; }
  // A key whose PIN policy is "never" (PIV's card authentication key, 9E, by default) is a
  // public object: found, read and used without a login (docs/pkcs11.md section 6.3).
  bool usable_without_login() const {
    return has_key() && pin_policy == protocol::PinPolicy::never;
  }
};

class Token {
 public:
  // `disk_cache`: where the objects are kept between processes (object_cache.hpp).
  Token(CK_SLOT_ID id, std::string reader, card::CardLinks& links, ObjectCache disk_cache)
      : id_(id), reader_(std::move(reader)), links_(links), disk_cache_(std::move(disk_cache)) {}

  CK_SLOT_ID id() const { return id_; }
  const std::string& reader() const { return reader_; }
  // Bumped whenever the token leaves the reader; sessions remember the one they opened on.
  std::uint64_t generation() const { return generation_; }

  // Whether a certkey token is in the reader, judged from the reader's state as pcscd reports
  // it (Module::present_tokens asks once for every reader). A card this slot is connected to
  // costs nothing more; a new insertion is connected to; an empty reader or another kind of
  // card is never connected to (docs/pkcs11.md 4).
  bool present(const card::ReaderState& state);
  // For a call that needs the token: the connection there is, or a new one. Nothing is asked
  // of a connected token: a removal shows in the result of the next transaction.
  bool connected();
  void forget_connection();  // pcscd went away, or C_Finalize
  // In a forked child: the parent's PC/SC handles share its socket, so they are dropped
  // without a word to pcscd (leaked), and the child starts afresh.
  void abandon_after_fork();

  // Runs `work` in one PC/SC transaction. A reset by another process is recovered once:
  // reconnect, and re-verify the PIN when the application is logged in. Throws
  // card::Error (token_removed when the token is gone).
  template <typename Work>
  auto run(Work&& work) -> decltype(work(std::declval<card::TokenClient&>()));

  // The objects, refreshed when the change counter moved. Call inside run(), after
  // objects_at_hand(known) found them not at hand. `known`: a TOKEN INFO this session
  // already read with no transaction since (take_objects_check).
  const std::vector<KeySlot>& key_slots(card::TokenClient& client,
                                        const card::TokenInfo* known = nullptr);
  // The cached objects without asking the token, while the cache is valid (C_FindObjectsInit
  // revalidates it; attribute reads and operations on found objects use it as it is).
  const std::vector<KeySlot>* cached_key_slots() const {
    return cache_valid_ ? &key_slots_ : nullptr;
  }
  // The objects without a transaction, when a change counter read with none since is at hand
  // (`known`, or the connect's) and so are the objects for it; else nullptr.
  const std::vector<KeySlot>* objects_at_hand(const card::TokenInfo* known);
  // Reads the change counter (TOKEN INFO) and brings the objects up to it from memory or the
  // disk cache; false when that needs the token's objects read (key_slots does it). Either
  // way the reading is kept for `session`'s next C_FindObjectsInit, if no transaction comes
  // between (docs/pkcs11.md 7.2); take_objects_check hands it over, once. Call inside run().
  bool objects_checked(card::TokenClient& client, CK_SESSION_HANDLE session);
  std::optional<card::TokenInfo> take_objects_check(CK_SESSION_HANDLE session) {
    std::optional<card::TokenInfo> checked;
    if (checked_for_ == session) checked.swap(checked_info_);
    checked_for_ = 0;
    checked_info_.reset();
    return checked;
  }
  const card::TokenInfo& info() const { return info_; }
  // After a write through this module: the connect's TOKEN INFO is stale too, and would name
  // the objects of before the write (in the object cache between processes as well).
  void invalidate_cache() {
    cache_valid_ = false;
    fresh_info_.reset();
    own_writes_.reset();
  }
  // After a write through this module that made one commit on the token and changed the
  // objects of `slots` alone (none: a PIN or PUK change). The next refresh re-reads just those
  // slots if the change counter moved by exactly the commits noted since the objects were
  // read: the token adds one per commit (docs/protocol.md 8), so no other process wrote.
  void note_own_write(std::initializer_list<std::uint8_t> slots) {
    cache_valid_ = false;
    fresh_info_.reset();
    if (!own_writes_) own_writes_.emplace();
    ++own_writes_->commits;
    own_writes_->slots.insert(slots.begin(), slots.end());
  }

  // Login state is per token (PKCS#11 section 5.6). The PIN is kept, locked in memory and
  // wiped on logout, only to re-verify after another process resets the card; the PUK of an
  // SO login is kept for C_InitPIN.
  bool user_logged_in() const { return login_ == Login::user; }
  bool so_logged_in() const { return login_ == Login::so; }
  const std::string& login_secret() const { return secret_; }
  void set_user_logged_in(const std::string& pin) { set_logged_in(Login::user, pin); }
  void set_so_logged_in(const std::string& puk) { set_logged_in(Login::so, puk); }
  // C_Login(CKU_CONTEXT_SPECIFIC, PUK) outside an operation: the next C_SetPIN unblocks.
  void set_unblock_context(const std::string& puk) { set_logged_in(Login::unblock, puk); }
  bool in_unblock_context() const { return login_ == Login::unblock; }
  void set_logged_out();

 private:
  void connect();
  void recover_after_reset(card::TokenClient& client);
  // LIST KEYS, then the certificate and public key of each slot in `dirty` (all when null);
  // the other slots as they were read before.
  std::vector<CachedSlot> read_objects(card::TokenClient& client,
                                       const std::set<std::uint8_t>* dirty = nullptr);
  bool objects_known_at(const card::TokenInfo& info);
  // A change counter read with no transaction since: `known`, else the connect's while the
  // cache is cold; nullptr when there is none.
  const card::TokenInfo* reading_at_hand(const card::TokenInfo* known) const;
  void show(const std::vector<CachedSlot>& described, const card::TokenInfo& info);

  CK_SLOT_ID id_;
  std::string reader_;
  card::CardLinks& links_;
  ObjectCache disk_cache_;
  std::uint64_t generation_ = 1;
  std::unique_ptr<card::Connection> connection_;
  bool cache_valid_ = false;
  std::vector<CachedSlot> described_;  // what key_slots_ and info_ were made from
  struct OwnWrites {
    std::uint32_t commits = 0;
    std::set<std::uint8_t> slots;
  };
  std::optional<OwnWrites> own_writes_;  // note_own_write since described_ was read
  CK_SESSION_HANDLE checked_for_ = 0;    // objects_checked; 0: none
  std::optional<card::TokenInfo> checked_info_;
  bool needs_recovery_ = false;  // reconnected after pcscd went away
  std::uint32_t serial_ = 0;     // the token this slot holds; checked on every reconnect
  bool sim_ = false;             // works on a logical channel (a SIM's basic one is the USIM's)
  std::optional<card::TokenInfo> fresh_info_;  // read by connect(), spares key_slots() an APDU
  card::TokenInfo info_;
  std::vector<KeySlot> key_slots_;
  enum class Login { none, user, so, unblock };
  void set_logged_in(Login who, const std::string& secret);
  Login login_ = Login::none;
  std::string secret_;
};

template <typename Work>
auto Token::run(Work&& work) -> decltype(work(std::declval<card::TokenClient&>())) {
  for (int attempt = 0;; ++attempt) {
    try {
      if (!connection_) connect();
      checked_for_ = 0;  // another transaction: the counter C_Login read may be stale now
      checked_info_.reset();
      card::Connection::Transaction transaction(*connection_);
      card::TokenClient client(*connection_);
      if (attempt > 0 || needs_recovery_) recover_after_reset(client);
      needs_recovery_ = false;
      return work(client);
    } catch (const card::Error& e) {
      if (e.kind() == card::Error::Kind::card_reset && attempt == 0) {
        connection_->reconnect();
        continue;
      }
      if (e.kind() == card::Error::Kind::transport && attempt == 0 && connection_) {
        connection_.reset();  // pcscd restarted: a new context and connection, then recover
        needs_recovery_ = true;
        continue;
      }
      // Gone, or not found again after PC/SC failed: its sessions and login end.
      if (e.kind() == card::Error::Kind::token_removed || e.kind() == card::Error::Kind::no_token ||
          (e.kind() == card::Error::Kind::transport && attempt > 0)) {
        forget_connection();
      } else if (e.kind() == card::Error::Kind::transport) {
        connection_.reset();
      }
      throw;
    }
  }
}

}  // namespace certkey::p11
