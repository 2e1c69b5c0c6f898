#include "token_registry.hpp"

#include <algorithm>
#include <cstdio>
#include <latch>

#include "token_reader.hpp"

namespace certkey::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// Return values that mean the token (or its reader) is simply not there any more.
bool token_gone(CK_RV rv) {
  return rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED || rv == CKR_SLOT_ID_INVALID ||
         rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED;
}

// When PC/SC itself fails (pcscd gone), the event thread tries again after this long, then
// twice as long, up to kMaxRetry: the only time the daemon does anything on a timer.
constexpr std::chrono::seconds kFirstRetry{1};
constexpr std::chrono::seconds kMaxRetry{60};

}  // namespace

struct TokenRegistry::Waiter {
  std::mutex mutex;
  int pending = 1;
  std::function<void()> done;
  void finish() {
    std::function<void()> call;
    {
      std::lock_guard lock(mutex);
      if (--pending == 0) call = std::move(done);
    }
    if (call) call();
  }
};

const TokenState* TokenSnapshot::find(std::uint32_t serial) const {
  for (const TokenState& t : tokens) {
    if (t.serial == serial) return &t;
  }
  return nullptr;
}

TokenRegistry::TokenRegistry(pkcs11::Module& module, TokenEventSink events)
    : module_(module), events_(std::move(events)), snapshot_(std::make_shared<TokenSnapshot>()) {}

TokenRegistry::~TokenRegistry() { stop(); }

void TokenRegistry::start() {
  // The module's first non-blocking wait takes note of what is present; every change after
  // it is reported by the blocking waits, so nothing inserted during the scan is missed.
  while (module_.poll_slot_event()) {
  }
  const std::vector<CK_SLOT_ID> slots = module_.slots(false);
  std::latch scanned(static_cast<std::ptrdiff_t>(slots.size()));
  {
    std::lock_guard lock(mutex_);
    for (CK_SLOT_ID slot : slots) {
      post_locked(slot, [this, slot, &scanned] {
        try {
          refresh(slot);
        } catch (...) {
          scanned.count_down();
          throw;
        }
        scanned.count_down();
      });
    }
  }
  scanned.wait();
  watcher_ = std::thread([this] { watch(); });
}

void TokenRegistry::stop() {
  std::map<CK_SLOT_ID, Slot> slots;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    slots.swap(slots_);
  }
  stop_.notify_all();
  std::vector<std::shared_ptr<Waiter>> waiters;
  for (auto& [id, entry] : slots)
    waiters.insert(waiters.end(), entry.waiters.begin(), entry.waiters.end());
  slots.clear();                        // each worker runs what is queued, then joins
  for (auto& w : waiters) w->finish();  // nobody waits for a revalidation that will not come
  module_.finalize();                   // ends the event thread's wait
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<const TokenSnapshot> TokenRegistry::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

TokenRegistry::Slot& TokenRegistry::slot_locked(CK_SLOT_ID slot) {
  Slot& entry = slots_[slot];
  if (!entry.worker) entry.worker = std::make_unique<TokenWorker>();
  return entry;
}

void TokenRegistry::post_locked(CK_SLOT_ID slot, std::function<void()> job) {
  if (stopping_) return;
  slot_locked(slot).worker->post(std::move(job));
}

bool TokenRegistry::run_on(std::uint32_t serial, std::function<void(CK_SLOT_ID)> work) {
  std::lock_guard lock(mutex_);
  for (auto& [id, entry] : slots_) {
    if (entry.state && entry.state->serial == serial && !stopping_) {
      entry.worker->post([work = std::move(work), slot = id] { work(slot); });
      return true;
    }
  }
  return false;
}

void TokenRegistry::refresh(CK_SLOT_ID slot) {
  std::optional<TokenState> fresh;
  try {
    fresh = read_token(module_, slot);
  } catch (const pkcs11::Error& e) {
    if (!token_gone(e.rv())) {
      // The token answers but cannot be read: keep what was known rather than hide it.
      std::fprintf(stderr, "certkeyd: reading slot %lu: %s\n", slot, e.what());
      std::lock_guard lock(mutex_);
      auto it = slots_.find(slot);
      if (it != slots_.end()) {
        fresh = it->second.state;
        it->second.validated_at = Clock::now();
      }
      if (!fresh) return;
    }
  }
  publish(slot, std::move(fresh));
  if (after_reading_) after_reading_();
}

void TokenRegistry::publish(CK_SLOT_ID slot, std::optional<TokenState> fresh) {
  std::vector<std::pair<const char*, TokenState>> events;
  {
    // Events go out under the lock, so that subscribers hear them in the order the snapshot
    // changed (a token moved between readers: removed, then inserted). The sink only queues.
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    Slot& entry = slot_locked(slot);
    entry.validated_at = Clock::now();
    const std::optional<TokenState>& old = entry.state;
    if (old == fresh) return;
    if (old && (!fresh || fresh->serial != old->serial)) events.emplace_back("tokenRemoved", *old);
    if (fresh && (!old || fresh->serial != old->serial))
      events.emplace_back("tokenInserted", *fresh);
    if (fresh && old && fresh->serial == old->serial) events.emplace_back("tokenChanged", *fresh);
    entry.state = std::move(fresh);
    auto next = std::make_shared<TokenSnapshot>();
    next->version = snapshot_->version + 1;
    for (const auto& [id, e] : slots_) {
      if (e.state) next->tokens.push_back(*e.state);
    }
    snapshot_ = std::move(next);
    for (const auto& [name, token] : events) events_(name, token);
  }
}

bool TokenRegistry::refresh_stale(std::function<void()> done, Clock::duration max_age) {
  const auto now = Clock::now();
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, entry] : slots_) {
      if (!entry.state || stopping_ || now - entry.validated_at < max_age) continue;
      if (!entry.revalidating && !entry.worker->idle()) continue;
      if (!waiter) {
        waiter = std::make_shared<Waiter>();
        waiter->done = std::move(done);
      }
      if (!entry.revalidating) {
        entry.revalidating = true;
        entry.worker->post([this, slot = id] { revalidate(slot); });
      }
      std::lock_guard waiting(waiter->mutex);
      ++waiter->pending;
      entry.waiters.push_back(waiter);
    }
  }
  if (!waiter) return false;
  waiter->finish();  // the count started at one
  return true;
}

void TokenRegistry::revalidate(CK_SLOT_ID slot) {
  // However this ends, the reads waiting for it are told (else every later read would wait).
  struct Finish {
    TokenRegistry* registry;
    CK_SLOT_ID slot;
    ~Finish() { registry->finish_revalidation(slot); }
  } finish{this, slot};
  std::optional<TokenState> state;
  {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(slot);
    if (it != slots_.end()) state = it->second.state;
  }
  try {
    if (state && revalidate_token(module_, *state)) {
      publish(slot, std::move(state));
    } else {
      std::lock_guard lock(mutex_);
      auto it = slots_.find(slot);
      if (it != slots_.end()) it->second.validated_at = Clock::now();
    }
  } catch (const pkcs11::Error&) {
    refresh(slot);  // pulled, most likely: a full look says so
  }
}

void TokenRegistry::finish_revalidation(CK_SLOT_ID slot) {
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(slot);
    if (it == slots_.end()) return;
    it->second.revalidating = false;
    waiters.swap(it->second.waiters);
  }
  for (auto& w : waiters) w->finish();
}

void TokenRegistry::watch() {
  auto retry = kFirstRetry;
  for (;;) {
    try {
      const std::optional<CK_SLOT_ID> slot = module_.wait_for_slot_event();
      if (!slot) return;  // finalised
      retry = kFirstRetry;
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      post_locked(*slot, [this, slot = *slot] { refresh(slot); });
    } catch (const std::exception& e) {  // PC/SC failing (pcscd gone), or no thread for a new slot
      std::fprintf(stderr, "certkeyd: waiting for tokens: %s; trying again in %llds\n", e.what(),
                   static_cast<long long>(retry.count()));
      std::unique_lock lock(mutex_);
      if (stop_.wait_for(lock, retry, [this] { return stopping_; })) return;
      retry = std::min(retry * 2, kMaxRetry);
    }
  }
}

}  // namespace certkey::daemon
