// The daemon's view of its tokens (DESIGN.md section 6): a snapshot that PC/SC events keep
// current, so that reads cost no APDU when nothing changed, and one worker per token slot
// for everything that talks to a token.
//
// Freshness. Slot events (the module's blocking C_WaitForSlotEvent, on a thread of its own)
// refresh a slot at once: an inserted or pulled token shows immediately and is announced as
// an event. Changes the daemon makes refresh the token before the command answers. Changes
// by other programs (a certificate written with pkcs11-tool, wrong PINs typed elsewhere)
// raise no PC/SC event; reads therefore revalidate a view that is older than
// kRevalidateInterval with one TOKEN INFO (the change counter and the PIN state), at most
// once per token per interval however many reads arrive. A token whose worker is busy is
// served as it is: its running operation refreshes it when it ends.
#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "../pkcs11/pkcs11_client.hpp"
#include "token_state.hpp"
#include "token_worker.hpp"

namespace certkey::daemon {

inline constexpr std::chrono::seconds kRevalidateInterval{1};

struct TokenSnapshot {
  std::uint64_t version = 0;       // grows with every change
  std::vector<TokenState> tokens;  // in slot order
  const TokenState* find(std::uint32_t serial) const;
  // The token list as the API shows it, serialised once per snapshot (json_views.cpp).
  mutable std::once_flag list_once;
  mutable std::shared_ptr<const std::string> list_text;
};

// tokenInserted / tokenRemoved / tokenChanged, with the token (docs/daemon.md, "Events").
// Called with the registry's lock held: it must only queue (EventHub::publish does).
using TokenEventSink = std::function<void(const char* event, const TokenState& token)>;

class TokenRegistry {
 public:
  TokenRegistry(pkcs11::Module& module, TokenEventSink events);
  ~TokenRegistry();
  TokenRegistry(const TokenRegistry&) = delete;
  TokenRegistry& operator=(const TokenRegistry&) = delete;

  // Reads every token present (blocking), then starts following slot events.
  void start();
  // Lets the workers finish what is queued, ends the event thread and the module.
  void stop();

  std::shared_ptr<const TokenSnapshot> snapshot() const;
  // Revalidates every token whose view is older than `max_age` and whose worker is idle.
  // False: none needed it, and `done` is not called. True: `done` is called (on a worker
  // thread) once they all were.
  bool refresh_stale(std::function<void()> done,
                     std::chrono::steady_clock::duration max_age = kRevalidateInterval);
  // Queues `work` on the worker of the token with this serial. False if it is not here.
  bool run_on(std::uint32_t serial, std::function<void(CK_SLOT_ID)> work);
  // Reads the slot again and publishes what changed. Call on the slot's worker.
  void refresh(CK_SLOT_ID slot);
  // Brings the slot's view up to date with one TOKEN INFO (a full read when the change
  // counter moved). Call on the slot's worker, as token commands do before they start.
  void revalidate(CK_SLOT_ID slot);
  pkcs11::Module& module() { return module_; }
  // Called on a worker after it has read a token whole (an insertion, a change, the end of a
  // token command): rare events, after which certkeyd gives back memory (app/resident_memory).
  // Set it before start().
  void after_reading(std::function<void()> hook) { after_reading_ = std::move(hook); }

 private:
  struct Waiter;
  struct Slot {
    std::unique_ptr<TokenWorker> worker;
    std::optional<TokenState> state;
    std::chrono::steady_clock::time_point validated_at;
    bool revalidating = false;
    std::vector<std::shared_ptr<Waiter>> waiters;
  };

  Slot& slot_locked(CK_SLOT_ID slot);
  void post_locked(CK_SLOT_ID slot, std::function<void()> job);
  void publish(CK_SLOT_ID slot, std::optional<TokenState> fresh);
  void finish_revalidation(CK_SLOT_ID slot);
  void watch();

  pkcs11::Module& module_;
  TokenEventSink events_;
  std::function<void()> after_reading_;
  mutable std::mutex mutex_;
  std::map<CK_SLOT_ID, Slot> slots_;
  std::shared_ptr<const TokenSnapshot> snapshot_;
  bool stopping_ = false;
  std::condition_variable stop_;
  std::thread watcher_;
};

}  // namespace certkey::daemon
