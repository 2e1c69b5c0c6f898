// The guarded-secret check every credential goes through (PIN, PUK, management key, unlock
// key), in the exact order of DESIGN.md section 3:
//   1. blocked -> refuse without comparing;
//   2. persist the decremented counter and read it back; fail closed if either fails;
//   3. compare in constant time (the caller's comparison);
//   4. on success restore the counter, together with any new secret, in one commit.
#pragma once
#include <cstdint>

#include "record_store.hpp"

namespace certkey::agent {

// Storage image of a retry counter record.
struct RetryCounter {
  std::uint8_t limit;
  std::uint8_t remaining;
};

enum class CheckOutcome : std::uint8_t { accepted, rejected, blocked, storage_failed };

struct CheckResult {
  CheckOutcome outcome;
  std::uint8_t remaining;  // after this attempt
};

bool read_counter(const RecordStore& store, std::uint16_t id, RetryCounter& out);

// `matches()` must compare in constant time. `stage_success(tx)` adds the records to write
// together with the restored counter (for example a new PIN).
template <typename Matches, typename StageSuccess>
CheckResult guarded_check(RecordStore& store, std::uint16_t counter_id, Matches&& matches,
                          StageSuccess&& stage_success) {
  RetryCounter counter{};
  if (!read_counter(store, counter_id, counter)) return {CheckOutcome::storage_failed, 0};
  if (counter.remaining == 0) return {CheckOutcome::blocked, 0};

  RetryCounter decremented{counter.limit, static_cast<std::uint8_t>(counter.remaining - 1)};
  RecordStore::Transaction tx = store.begin();
  tx.put(counter_id, Bytes(&decremented.limit, sizeof decremented));
  RetryCounter persisted{};
  if (store.commit(tx) != StoreResult::ok || !read_counter(store, counter_id, persisted) ||
      persisted.remaining != decremented.remaining) {
    return {CheckOutcome::storage_failed, 0};
  }

  if (!matches()) return {CheckOutcome::rejected, decremented.remaining};

  RetryCounter restored{counter.limit, counter.limit};
  RecordStore::Transaction done = store.begin();
  done.put(counter_id, Bytes(&restored.limit, sizeof restored));
  stage_success(done);
  if (store.commit(done) != StoreResult::ok) return {CheckOutcome::storage_failed, 0};
  return {CheckOutcome::accepted, restored.remaining};
}

}  // namespace certkey::agent
