// Module life cycle, slots and tokens, mechanisms, sessions, slot events.
#include "module.hpp"

#include <certkey/card/error.hpp>
#include <certkey/protocol/limits.hpp>
#include <certkey/protocol/token_info.hpp>
#include <openssl/crypto.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <cstring>

namespace certkey::p11 {
namespace {

struct MechanismSpec {
  CK_MECHANISM_TYPE type;
  CK_ULONG min_bits, max_bits;
  CK_FLAGS flags;
};
constexpr CK_FLAGS kEc = CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
// A blocking C_WaitForSlotEvent waits this long in pcscd, then looks again. Not INFINITE:
// libpcsclite turns INFINITE into 60-second waits that it renews with pcscd, waking the
// waiting thread every minute; a finite wait is one wait (24.8 days, the most poll() takes).
constexpr std::chrono::milliseconds kLongestWait{0x7FFFFFFF};
// How often C_Finalize repeats the cancel while a slot-event waiter has not left.
constexpr std::chrono::milliseconds kCancelRetry{10};
// The private-key step of every key mechanism runs on the token, so they carry CKF_HW; verify
// and encrypt with the public half run in software beside it (CKF_HW is per mechanism, not
// per function). The digests run in software only.
constexpr MechanismSpec kMechanisms[] = {
    {CKM_RSA_PKCS_KEY_PAIR_GEN, 2048, 2048, CKF_HW | CKF_GENERATE_KEY_PAIR},
    {CKM_EC_KEY_PAIR_GEN, 256, 384, CKF_HW | CKF_GENERATE_KEY_PAIR | kEc},
    {CKM_RSA_PKCS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY | CKF_DECRYPT | CKF_ENCRYPT},
    {CKM_RSA_X_509, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY | CKF_DECRYPT | CKF_ENCRYPT},
    {CKM_RSA_PKCS_PSS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_RSA_PKCS_OAEP, 2048, 2048, CKF_HW | CKF_DECRYPT | CKF_ENCRYPT},
    {CKM_SHA1_RSA_PKCS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_SHA224_RSA_PKCS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_SHA256_RSA_PKCS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_SHA384_RSA_PKCS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_SHA512_RSA_PKCS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_SHA1_RSA_PKCS_PSS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_SHA224_RSA_PKCS_PSS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_SHA256_RSA_PKCS_PSS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_SHA384_RSA_PKCS_PSS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_SHA512_RSA_PKCS_PSS, 2048, 2048, CKF_HW | CKF_SIGN | CKF_VERIFY},
    {CKM_ECDSA, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | kEc},
    {CKM_ECDSA_SHA1, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | kEc},
    {CKM_ECDSA_SHA224, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | kEc},
    {CKM_ECDSA_SHA256, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | kEc},
    {CKM_ECDSA_SHA384, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | kEc},
    {CKM_ECDSA_SHA512, 256, 384, CKF_HW | CKF_SIGN | CKF_VERIFY | kEc},
    {CKM_ECDH1_DERIVE, 256, 384, CKF_HW | CKF_DERIVE | kEc},
    {CKM_SHA_1, 0, 0, CKF_DIGEST},
    {CKM_SHA224, 0, 0, CKF_DIGEST},
    {CKM_SHA256, 0, 0, CKF_DIGEST},
    {CKM_SHA384, 0, 0, CKF_DIGEST},
    {CKM_SHA512, 0, 0, CKF_DIGEST},
};

// Slot IDs come from the reader name, so they are the same in every process, across runs,
// re-plugs and pcscd restarts (NSS stores per-slot settings by ID).
CK_SLOT_ID slot_id_for(const std::string& reader) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : reader) h = (h ^ c) * 16777619u;
  return h & 0x7FFFFFFF;
}

std::string medium_name(protocol::Medium m) {
  switch (m) {
    case protocol::Medium::sim: return "SIM";
    case protocol::Medium::usb_key: return "USB KEY";
    case protocol::Medium::sd_key: return "SD KEY";
    case protocol::Medium::smartcard: break;
  }
  return "smart card";
}

CK_FLAGS pin_flags(const card::PinState& s, CK_FLAGS locked, CK_FLAGS final_try,
                   CK_FLAGS count_low) {
  if (s.remaining == 0) return locked;
  CK_FLAGS f = 0;
  if (s.remaining < s.limit) f |= count_low;
  if (s.remaining == 1) f |= final_try;
  return f;
}

}  // namespace

void Operation::wipe() {
  if (decrypted && !decrypted->empty()) OPENSSL_cleanse(decrypted->data(), decrypted->size());
  if (!buffered.empty()) OPENSSL_cleanse(buffered.data(), buffered.size());
}

CK_RV Operation::take(const CK_BYTE* part, CK_ULONG length, std::size_t longest) {
  if (digest) {
    digest->update(part, length);
    return CKR_OK;
  }
  if (buffered.size() + length > longest) {
    end();
    return CKR_DATA_LEN_RANGE;
  }
  buffered.insert(buffered.end(), part, part + length);
  return CKR_OK;
}

std::optional<CK_RV> length_answer(const CK_BYTE* out, CK_ULONG* out_length, std::size_t needed) {
  if (out && *out_length >= needed) return std::nullopt;
  *out_length = needed;
  return out ? CKR_BUFFER_TOO_SMALL : CKR_OK;
}

void pad_copy(CK_UTF8CHAR* out, std::size_t width, const std::string& text) {
  std::memset(out, ' ', width);
  // The fields are UTF-8 (PKCS#11 3.0 section 3.2): a long reader name is cut before the
  // character that does not fit, never inside it.
  std::size_t length = std::min(width, text.size());
  if (length < text.size()) {
    while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0) == 0x80) --length;
  }
  std::memcpy(out, text.data(), length);
}

bool pin_length_possible(std::size_t length) {
  return length >= protocol::kMinPinLength && length <= protocol::kPinBlockLength;
}

std::size_t checked_pin_length(const CK_UTF8CHAR* pin, CK_ULONG length) {
  if (!pin && length) throw Failure{CKR_ARGUMENTS_BAD};
  if (!pin_length_possible(length)) throw Failure{CKR_PIN_LEN_RANGE};
  return length;
}

std::string pin_text(const CK_UTF8CHAR* pin, CK_ULONG length) {
  return std::string(reinterpret_cast<const char*>(pin), checked_pin_length(pin, length));
}

WipedPin::~WipedPin() { OPENSSL_cleanse(text.data(), text.size()); }

CK_RV to_ckr(const card::Error& e) {
  using Kind = card::Error::Kind;
  switch (e.kind()) {
    case Kind::token_removed: return CKR_DEVICE_REMOVED;
    case Kind::no_token: return CKR_TOKEN_NOT_PRESENT;
    case Kind::bad_input: return CKR_ARGUMENTS_BAD;
    case Kind::refused: break;
    default: return CKR_DEVICE_ERROR;
  }
  if (protocol::retries_left(e.sw()) == 0) return CKR_PIN_LOCKED;  // the last try is used up
  if (protocol::retries_left(e.sw()) > 0) return CKR_PIN_INCORRECT;
  switch (static_cast<Sw>(e.sw())) {
    case Sw::security_status_not_satisfied: return CKR_USER_NOT_LOGGED_IN;
    case Sw::authentication_blocked: return CKR_PIN_LOCKED;
    case Sw::incorrect_data: return CKR_DATA_INVALID;
    case Sw::not_enough_memory: return CKR_DEVICE_MEMORY;
    case Sw::not_found:
    case Sw::reference_not_found: return CKR_KEY_HANDLE_INVALID;
    case Sw::conditions_not_satisfied: return CKR_FUNCTION_REJECTED;
    default: return CKR_DEVICE_ERROR;
  }
}

// ---- life cycle ----------------------------------------------------------------------------

void Module::use_card_links(card::CardLinks& links) {
  if (initialized_) throw Failure{CKR_CRYPTOKI_ALREADY_INITIALIZED};
  links_ = &links;
  tokens_.clear();
}

CK_RV Module::initialize(CK_VOID_PTR args) {
  if (initialized_in_this_process()) return CKR_CRYPTOKI_ALREADY_INITIALIZED;
  if (args) {
    auto* a = static_cast<CK_C_INITIALIZE_ARGS*>(args);
    const int callbacks = !!a->CreateMutex + !!a->DestroyMutex + !!a->LockMutex + !!a->UnlockMutex;
    if (a->pReserved || (callbacks != 0 && callbacks != 4)) return CKR_ARGUMENTS_BAD;
    // Only the operating system's locking is used; callbacks alone cannot be honoured.
    if (callbacks == 4 && !(a->flags & CKF_OS_LOCKING_OK)) return CKR_CANT_LOCK;
  }
  if (initialized_) {  // a forked child: nothing of the parent's may be touched
    for (auto& t : tokens_) t->abandon_after_fork();
    sessions_.clear();
    secrets_.clear();
    waiter_ = nullptr;  // the parent's waiter, not ours
    reported_presence_.clear();
    presence_snapshot_taken_ = false;
  }
  config_ = load_module_config();
  initialized_ = true;
  forks_at_initialize_ = forks_;
  return CKR_OK;
}

CK_RV Module::finalize(std::unique_lock<std::mutex>& lock) {
  require_initialized();
  // A waiter between publishing itself and blocking would miss a single cancel
  // (card::ReaderChangeWait), so cancel until it has left.
  finalizing_ = true;
  while (waiter_) {
    waiter_->cancel();
    waiter_left_.wait_for(lock, kCancelRetry);
  }
  finalizing_ = false;
  sessions_.clear();
  secrets_.clear();
  for (auto& t : tokens_) {
    end_login(*t);
    t->forget_connection();
  }
  initialized_ = false;
  return CKR_OK;
}

void Module::release_at_exit() {
  if (!initialized_in_this_process()) return;
  secrets_.clear();  // wiped with OPENSSL_cleanse, which needs no library state
  for (auto& t : tokens_) {
    end_login(*t);
    t->forget_connection();
  }
  initialized_ = false;
}

// Forgets any login (user, SO or unblock context) and tells the card, so that it does not
// stay PIN-verified for other processes. A token that is gone needs no telling.
void Module::end_login(Token& token) {
  const bool was_user = token.user_logged_in();  // only the PIN leaves the card verified
  token.set_logged_out();
  if (!was_user) return;
  try {
    token.run([](card::TokenClient& c) { c.logout(); });
  } catch (const card::Error&) {
  }
}

void Module::require_initialized() const {
  if (!initialized_in_this_process()) throw Failure{CKR_CRYPTOKI_NOT_INITIALIZED};
}

CK_RV Module::get_info(CK_INFO* info) {
  require_initialized();
  if (!info) return CKR_ARGUMENTS_BAD;
  *info = CK_INFO{};
  info->cryptokiVersion = {3, 0};
  pad_copy(info->manufacturerID, sizeof info->manufacturerID, "certkey");
  pad_copy(info->libraryDescription, sizeof info->libraryDescription, "certkey PKCS#11 module");
  info->libraryVersion = {0, 1};
  return CKR_OK;
}

// ---- slots and tokens ------------------------------------------------------------------------

void Module::refresh_readers() {
  for (const std::string& name : links_->readers()) {
    auto known = std::find_if(tokens_.begin(), tokens_.end(),
                              [&](const auto& t) { return t->reader() == name; });
    if (known != tokens_.end()) continue;
    CK_SLOT_ID id = slot_id_for(name);
    while (
        std::any_of(tokens_.begin(), tokens_.end(), [&](const auto& t) { return t->id() == id; })) {
      id = (id + 1) & 0x7FFFFFFF;  // a hash collision: the next free ID, in discovery order
    }
    tokens_.push_back(
        std::make_unique<Token>(id, name, *links_, ObjectCache(ObjectCache::default_directory())));
  }
}

std::size_t Module::token_index(CK_SLOT_ID slot) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i]->id() == slot) return i;
  }
  refresh_readers();
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i]->id() == slot) return i;
  }
  throw Failure{CKR_SLOT_ID_INVALID};
}

Token& Module::present_token(CK_SLOT_ID slot) {
  const std::size_t index = token_index(slot);
  Token& token = *tokens_[index];
  if (!token.connected()) {
    drop_sessions_of(index);
    throw Failure{CKR_TOKEN_NOT_PRESENT};
  }
  return token;
}

std::vector<bool> Module::present_tokens() {
  std::vector<std::string> readers;
  for (const auto& t : tokens_) readers.push_back(t->reader());
  std::vector<card::ReaderState> states(readers.size());
  try {
    states = links_->states(readers);
  } catch (const card::Error&) {
    // pcscd cannot be reached: no reader has a card, as far as this process can tell.
  }
  std::vector<bool> present;
  for (std::size_t i = 0; i < tokens_.size(); ++i)
    present.push_back(tokens_[i]->present(states[i]));
  return present;
}

CK_RV Module::get_slot_list(CK_BBOOL token_present, CK_SLOT_ID* list, CK_ULONG* count) {
  require_initialized();
  if (!count) return CKR_ARGUMENTS_BAD;
  refresh_readers();
  std::vector<CK_SLOT_ID> ids;
  const std::vector<bool> present = token_present ? present_tokens() : std::vector<bool>();
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    if (!token_present || present[i]) ids.push_back(tokens_[i]->id());
  }
  if (!list) {
    *count = ids.size();
    return CKR_OK;
  }
  if (*count < ids.size()) {
    *count = ids.size();
    return CKR_BUFFER_TOO_SMALL;
  }
  std::copy(ids.begin(), ids.end(), list);
  *count = ids.size();
  return CKR_OK;
}

CK_RV Module::get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO* info) {
  require_initialized();
  if (!info) return CKR_ARGUMENTS_BAD;
  Token& token = *tokens_[token_index(slot)];
  std::vector<card::ReaderState> state(1);
  try {
    state = links_->states({token.reader()});
  } catch (const card::Error&) {
  }
  *info = CK_SLOT_INFO{};
  pad_copy(info->slotDescription, sizeof info->slotDescription, token.reader());
  pad_copy(info->manufacturerID, sizeof info->manufacturerID, "certkey");
  info->flags =
      CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | (token.present(state[0]) ? CKF_TOKEN_PRESENT : 0);
  return CKR_OK;
}

CK_RV Module::get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO* info) {
  require_initialized();
  if (!info) return CKR_ARGUMENTS_BAD;
  card::TokenInfo ti;
  card::PinState pin, puk;
  const auto read = [&](card::TokenClient& c) {  // PIN state is read fresh every time
    ti = c.token_info();
    pin = ti.pin ? *ti.pin : c.pin_state(protocol::KeyRef::pin);
    puk = ti.puk ? *ti.puk : c.pin_state(protocol::KeyRef::puk);
  };
  try {
    present_token(slot).run(read);
  } catch (const card::Error& e) {
    if (e.kind() != card::Error::Kind::token_removed) throw;
    present_token(slot).run(read);  // the token it was connected to left; another may be there
  }
  *info = CK_TOKEN_INFO{};
  pad_copy(info->label, sizeof info->label, "certkey " + std::to_string(ti.serial));
  pad_copy(info->manufacturerID, sizeof info->manufacturerID, "certkey");
  pad_copy(info->model, sizeof info->model, medium_name(ti.medium));
  pad_copy(info->serialNumber, sizeof info->serialNumber, std::to_string(ti.serial));
  pad_copy(info->utcTime, sizeof info->utcTime, "");
  info->flags =
      CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED |
      pin_flags(pin, CKF_USER_PIN_LOCKED, CKF_USER_PIN_FINAL_TRY, CKF_USER_PIN_COUNT_LOW) |
      pin_flags(puk, CKF_SO_PIN_LOCKED, CKF_SO_PIN_FINAL_TRY, CKF_SO_PIN_COUNT_LOW);
  if ((ti.policy & protocol::kPolicyRequirePinChange) && pin.is_default)
    info->flags |= CKF_USER_PIN_TO_BE_CHANGED;
  if (!config_.pinentry.empty()) info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
  const std::size_t index = token_index(slot);
  CK_ULONG sessions = 0, rw = 0;
  for (const auto& [handle, s] : sessions_) {
    if (s.token_index != index) continue;
    ++sessions;
    rw += (s.flags & CKF_RW_SESSION) != 0;
  }
  info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
  info->ulSessionCount = sessions;
  info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
  info->ulRwSessionCount = rw;
  info->ulMaxPinLen = protocol::kPinBlockLength;
  info->ulMinPinLen = protocol::kMinPinLength;
  info->ulTotalPublicMemory = info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
  info->ulTotalPrivateMemory = info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
  info->hardwareVersion = {0, 0};
  info->firmwareVersion = {ti.firmware[0], ti.firmware[1]};
  return CKR_OK;
}

CK_RV Module::get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE* list, CK_ULONG* count) {
  require_initialized();
  if (!count) return CKR_ARGUMENTS_BAD;
  token_index(slot);
  const CK_ULONG n = sizeof kMechanisms / sizeof kMechanisms[0];
  if (list && *count < n) {
    *count = n;
    return CKR_BUFFER_TOO_SMALL;
  }
  if (list) {
    for (CK_ULONG i = 0; i < n; ++i) list[i] = kMechanisms[i].type;
  }
  *count = n;
  return CKR_OK;
}

CK_RV Module::get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO* info) {
  require_initialized();
  if (!info) return CKR_ARGUMENTS_BAD;
  token_index(slot);
  for (const MechanismSpec& m : kMechanisms) {
    if (m.type != type) continue;
    *info = CK_MECHANISM_INFO{m.min_bits, m.max_bits, m.flags};
    return CKR_OK;
  }
  return CKR_MECHANISM_INVALID;
}

// ---- sessions ----------------------------------------------------------------------------------

CK_RV Module::open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE* handle) {
  require_initialized();
  if (!handle) return CKR_ARGUMENTS_BAD;
  if (!(flags & CKF_SERIAL_SESSION)) return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
  Token& token = present_token(slot);
  if (token.so_logged_in() && !(flags & CKF_RW_SESSION)) return CKR_SESSION_READ_WRITE_SO_EXISTS;
  Session s;
  s.token_index = token_index(slot);
  s.flags = flags;
  s.generation = token.generation();
  *handle = next_session_++;
  sessions_.emplace(*handle, std::move(s));
  return CKR_OK;
}

Session& Module::session(CK_SESSION_HANDLE handle, bool arguments_valid, bool mechanism_known) {
  require_initialized();
  // The arguments before the session (docs/pkcs11.md 8.7); a mechanism is one of them.
  if (!arguments_valid) throw Failure{CKR_ARGUMENTS_BAD};
  if (!mechanism_known) throw Failure{CKR_MECHANISM_INVALID};
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) throw Failure{CKR_SESSION_HANDLE_INVALID};
  Token& token = token_of(it->second);
  // A session does not survive its token leaving the reader (PKCS#11 section 5.6). The module
  // learns of a removal from a failed transaction or a reader state, which start a new
  // generation; it does not ask pcscd here (docs/pkcs11.md 4).
  if (it->second.generation != token.generation()) {
    drop_sessions_of(it->second.token_index);
    throw Failure{CKR_DEVICE_REMOVED};
  }
  return it->second;
}

void Module::drop_sessions_of(std::size_t index) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second.token_index == index ? sessions_.erase(it) : std::next(it);
  }
  drop_orphaned_secrets();
}

// Session objects live as long as the session that made them.
void Module::drop_orphaned_secrets() {
  for (auto it = secrets_.begin(); it != secrets_.end();) {
    it = sessions_.count(it->second.session) ? std::next(it) : secrets_.erase(it);
  }
}

CK_RV Module::close_session(CK_SESSION_HANDLE handle) {
  Session& s = session(handle);
  const std::size_t index = s.token_index;
  sessions_.erase(handle);
  drop_orphaned_secrets();
  const bool last = std::none_of(sessions_.begin(), sessions_.end(),
                                 [&](const auto& kv) { return kv.second.token_index == index; });
  if (last) end_login(*tokens_[index]);  // the login ends with the application's last session
  return CKR_OK;
}

CK_RV Module::close_all_sessions(CK_SLOT_ID slot) {
  require_initialized();
  const std::size_t index = token_index(slot);
  drop_sessions_of(index);
  end_login(*tokens_[index]);
  return CKR_OK;
}

CK_RV Module::get_session_info(CK_SESSION_HANDLE handle, CK_SESSION_INFO* info) {
  Session& s = session(handle, info != nullptr);
  Token& token = token_of(s);
  const bool rw = (s.flags & CKF_RW_SESSION) != 0;
  *info = CK_SESSION_INFO{};
  info->slotID = token.id();
  info->flags = s.flags;
  info->state = token.so_logged_in()     ? CKS_RW_SO_FUNCTIONS
                : token.user_logged_in() ? (rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS)
                                         : (rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION);
  return CKR_OK;
}

// ---- slot events ---------------------------------------------------------------------------

CK_RV Module::wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID* slot,
                                  std::unique_lock<std::mutex>& lock) {
  require_initialized();
  if (!slot) return CKR_ARGUMENTS_BAD;
  if (waiter_ && !(flags & CKF_DONT_BLOCK)) return CKR_FUNCTION_FAILED;  // one blocking waiter
  for (;;) {
    refresh_readers();
    const std::vector<bool> present = present_tokens();
    // The first call only learns the current state; later calls report changes from it.
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
      const auto& t = tokens_[i];
      const bool now = present[i];
      bool& reported = reported_presence_[t->id()];
      if (presence_snapshot_taken_ && now != reported) {
        reported = now;
        *slot = t->id();
        return CKR_OK;
      }
      reported = now;
    }
    presence_snapshot_taken_ = true;
    if (flags & CKF_DONT_BLOCK) return CKR_NO_EVENT;
    if (finalizing_) return CKR_CRYPTOKI_NOT_INITIALIZED;  // C_Finalize waits for us to leave
    // Block in pcscd until any reader changes, without holding the module lock.
    std::vector<std::string> names;
    for (auto& t : tokens_) names.push_back(t->reader());
    std::optional<card::ReaderChangeWait> wait;
    try {
      wait.emplace(names);
    } catch (const card::Error&) {
      return CKR_DEVICE_ERROR;
    }
    waiter_ = &*wait;
    lock.unlock();
    const card::ReaderChangeWait::Outcome outcome = wait->block(kLongestWait);
    lock.lock();
    waiter_ = nullptr;
    waiter_left_.notify_all();
    if (outcome == card::ReaderChangeWait::Outcome::cancelled || !initialized_ || finalizing_) {
      return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    // Any other outcome (a change, or pcscd going away) leads to a fresh look at the slots;
    // if pcscd stays away, establishing the next context fails and says so.
  }
}

}  // namespace certkey::p11
