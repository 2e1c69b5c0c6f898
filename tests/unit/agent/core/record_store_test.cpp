// RecordStore (agent/core/record_store.cpp) on host::FileFlash: a small flash of two 16 KiB
// banks with 4 KiB erase units, so that compaction happens after a few dozen commits.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "core/record_store.hpp"
#include "hal-host/file_flash.hpp"

namespace certkey::agent {

// GoogleTest prints StoreResult by name.
static void PrintTo(StoreResult r, std::ostream* os) {
  static const char* const kNames[] = {"ok",        "not_found", "no_space",
                                       "too_large", "io_error",  "power_lost"};
  *os << kNames[static_cast<int>(r)];
}

namespace {

using Buffer = std::vector<std::uint8_t>;
using host::CutMode;
using host::FileFlash;

constexpr std::size_t kFlashSize = 2 * 16 * 1024;
constexpr std::size_t kEraseUnit = 4096;

Bytes view(const Buffer& b) { return Bytes(b.data(), b.size()); }

Buffer pattern(std::size_t n, std::uint8_t seed) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 13);
  return b;
}

class RecordStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<unsigned> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("certkey-unit-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(std::filesystem::create_directories(dir_));
    remount();
  }
  void TearDown() override {
    store_.reset();
    flash_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Power-on: a new flash object on the same file and a new store mounted on it.
  void remount() {
    store_.reset();
    flash_ = std::make_unique<FileFlash>((dir_ / "flash.bin").string(), kFlashSize, kEraseUnit);
    ASSERT_TRUE(flash_->ok());
    store_ = std::make_unique<RecordStore>(*flash_);
    ASSERT_EQ(store_->mount(), StoreResult::ok);
  }

  StoreResult put(std::uint16_t id, const Buffer& data) {
    RecordStore::Transaction tx = store_->begin();
    tx.put(id, view(data));
    return store_->commit(tx);
  }
  StoreResult remove(std::uint16_t id) {
    RecordStore::Transaction tx = store_->begin();
    tx.remove(id);
    return store_->commit(tx);
  }
  StoreResult swap(std::uint16_t a, std::uint16_t b) {
    RecordStore::Transaction tx = store_->begin();
    tx.swap(a, b);
    return store_->commit(tx);
  }
  std::optional<Buffer> read(std::uint16_t id) {
    Buffer out(RecordStore::kMaxRecordLength);
    std::size_t length = 0;
    if (store_->read(id, MutableBytes(out.data(), out.size()), length) != StoreResult::ok) {
      return std::nullopt;
    }
    out.resize(length);
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<FileFlash> flash_;
  std::unique_ptr<RecordStore> store_;
};

TEST_F(RecordStoreTest, Mount_BlankFlash_FormatsEmptyStore) {
  EXPECT_FALSE(store_->contains(1));
  EXPECT_EQ(store_->sequence(), 0u);
  EXPECT_GT(store_->free_bytes(), 0u);
  EXPECT_LT(store_->free_bytes(), kFlashSize / 2);
}

TEST_F(RecordStoreTest, Put_ThenReadReturnsData) {
  const Buffer data = pattern(100, 1);
  ASSERT_EQ(put(7, data), StoreResult::ok);
  EXPECT_TRUE(store_->contains(7));
  EXPECT_EQ(store_->length(7), data.size());
  EXPECT_EQ(read(7), data);
}

TEST_F(RecordStoreTest, Put_EmptyRecordIsStored) {
  ASSERT_EQ(put(7, {}), StoreResult::ok);
  EXPECT_TRUE(store_->contains(7));
  EXPECT_EQ(read(7), Buffer{});
}

TEST_F(RecordStoreTest, Read_MissingRecord_NotFound) {
  std::uint8_t out[4];
  std::size_t length = 0;
  EXPECT_EQ(store_->read(9, MutableBytes(out, sizeof out), length), StoreResult::not_found);
  EXPECT_EQ(store_->length(9), 0u);
}

TEST_F(RecordStoreTest, Read_BufferTooSmall_TooLarge) {
  ASSERT_EQ(put(7, pattern(10, 1)), StoreResult::ok);
  std::uint8_t out[9];
  std::size_t length = 0;
  EXPECT_EQ(store_->read(7, MutableBytes(out, sizeof out), length), StoreResult::too_large);
}

TEST_F(RecordStoreTest, Put_OverwriteKeepsLastValue) {
  ASSERT_EQ(put(7, pattern(10, 1)), StoreResult::ok);
  ASSERT_EQ(put(7, pattern(20, 2)), StoreResult::ok);
  EXPECT_EQ(read(7), pattern(20, 2));
}

TEST_F(RecordStoreTest, Remove_RecordIsGone) {
  ASSERT_EQ(put(7, pattern(10, 1)), StoreResult::ok);
  ASSERT_EQ(remove(7), StoreResult::ok);
  EXPECT_FALSE(store_->contains(7));
  EXPECT_EQ(read(7), std::nullopt);
  remount();
  EXPECT_FALSE(store_->contains(7));
}

TEST_F(RecordStoreTest, Commit_SeveralUpdatesInOneEntry) {
  ASSERT_EQ(put(3, pattern(5, 3)), StoreResult::ok);
  RecordStore::Transaction tx = store_->begin();
  tx.put(1, view(pattern(10, 1)));
  tx.put(2, view(pattern(20, 2)));
  tx.remove(3);
  ASSERT_EQ(store_->commit(tx), StoreResult::ok);
  EXPECT_EQ(read(1), pattern(10, 1));
  EXPECT_EQ(read(2), pattern(20, 2));
  EXPECT_FALSE(store_->contains(3));
}

TEST_F(RecordStoreTest, Remount_KeepsCommittedRecords) {
  ASSERT_EQ(put(1, pattern(300, 1)), StoreResult::ok);
  ASSERT_EQ(put(2, pattern(40, 2)), StoreResult::ok);
  ASSERT_EQ(put(1, pattern(50, 3)), StoreResult::ok);
  const std::uint32_t sequence = store_->sequence();
  remount();
  EXPECT_EQ(read(1), pattern(50, 3));
  EXPECT_EQ(read(2), pattern(40, 2));
  EXPECT_EQ(store_->sequence(), sequence);
}

TEST_F(RecordStoreTest, ManyCommits_CompactionKeepsLatestValues) {
  ASSERT_EQ(put(1, pattern(64, 0xA0)), StoreResult::ok);  // never rewritten: must survive
  bool compacted = false;
  std::size_t free_before = store_->free_bytes();
  for (std::uint8_t i = 0; i < 100; ++i) {
    ASSERT_EQ(put(2, pattern(1000, i)), StoreResult::ok) << "commit " << int{i};
    if (store_->free_bytes() > free_before) compacted = true;
    free_before = store_->free_bytes();
    ASSERT_EQ(read(2), pattern(1000, i));
  }
  EXPECT_TRUE(compacted) << "100 KB written to a 16 KiB bank without compaction";
  EXPECT_EQ(read(1), pattern(64, 0xA0));
  remount();
  EXPECT_EQ(read(1), pattern(64, 0xA0));
  EXPECT_EQ(read(2), pattern(1000, 99));
}

TEST_F(RecordStoreTest, Sequence_StrictlyIncreasesAcrossCompactionAndRemount) {
  ASSERT_EQ(put(1, pattern(8, 1)), StoreResult::ok);
  std::uint32_t last = store_->sequence();
  for (std::uint8_t i = 0; i < 60; ++i) {
    ASSERT_EQ(put(2, pattern(900, i)), StoreResult::ok);
    EXPECT_GT(store_->sequence(), last) << "commit " << int{i};
    last = store_->sequence();
    if (i % 20 == 19) {
      remount();
      EXPECT_EQ(store_->sequence(), last);
    }
  }
}

TEST_F(RecordStoreTest, Sequence_StrictlyIncreasesWhenCompactingAnEmptyStore) {
  // Regression (fixed): agent/core/record_store.cpp, RecordStore::compact() sets `sequence_ = 0`
  // and rebuilds it from the entries just copied; when no record is live, nothing is copied and
  // sequence() falls back to 0, then the next commit gets sequence 1, although
  // record_store.hpp promises "it only grows". Fix: keep the highest sequence
  // across compaction, e.g. store a base sequence in the (CRC-covered) bank header that
  // compact() writes, and start sequence_ from it on mount and after compaction.
  std::uint32_t last = store_->sequence();
  for (std::uint8_t i = 0; i < 20; ++i) {
    ASSERT_EQ(put(1, pattern(2000, i)), StoreResult::ok);
    EXPECT_GT(store_->sequence(), last) << "put " << int{i};
    last = store_->sequence();
    ASSERT_EQ(remove(1), StoreResult::ok);
    EXPECT_GT(store_->sequence(), last) << "remove " << int{i};
    last = store_->sequence();
  }
}

TEST_F(RecordStoreTest, Put_RecordLongerThanLimit_TooLargeAndNothingWritten) {
  ASSERT_EQ(put(1, pattern(10, 1)), StoreResult::ok);
  const std::uint32_t sequence = store_->sequence();
  EXPECT_EQ(put(2, pattern(RecordStore::kMaxRecordLength + 1, 2)), StoreResult::too_large);
  EXPECT_FALSE(store_->contains(2));
  EXPECT_EQ(store_->sequence(), sequence);
  EXPECT_EQ(read(1), pattern(10, 1));
}

TEST_F(RecordStoreTest, Put_LargestRecordFits) {
  const Buffer data = pattern(RecordStore::kMaxRecordLength, 5);
  ASSERT_EQ(put(1, data), StoreResult::ok);
  remount();
  EXPECT_EQ(read(1), data);
}

TEST_F(RecordStoreTest, Put_MoreThanMaxRecords_NoSpace) {
  for (std::uint16_t id = 0; id < RecordStore::kMaxRecords; ++id) {
    ASSERT_EQ(put(id, pattern(4, static_cast<std::uint8_t>(id))), StoreResult::ok) << id;
  }
  EXPECT_EQ(put(RecordStore::kMaxRecords, pattern(4, 0)), StoreResult::no_space);
  EXPECT_EQ(put(0, pattern(4, 0xEE)), StoreResult::ok);  // an existing record still updates
  remount();
  EXPECT_EQ(read(0), pattern(4, 0xEE));
  EXPECT_EQ(read(RecordStore::kMaxRecords - 1),
            pattern(4, static_cast<std::uint8_t>(RecordStore::kMaxRecords - 1)));
}

TEST_F(RecordStoreTest, FullStore_RemoveAndSmallUpdateStillSucceed) {
  // Regression (fixed): agent/core/record_store.cpp, RecordStore::commit() accepts an entry
  // whenever it fits in the active bank, with no reserve. A commit can therefore leave the live
  // records, once compacted, filling the bank (with multi-record entries compaction even needs more
  // room than the log did, as each record gets its own entry header). From
  // then on every commit needs a compaction that cannot free anything: remove() and any
  // update return no_space forever, also after re-mount. In the PIV applet that makes VERIFY
  // fail with 6581 and PUT DATA deletions fail with 6A84 for good (see
  // SmallFlashPutData.FullStore_VerifyAndDeleteStillWork). Fix: keep a reserve, e.g. track the
  // compacted size of the live set and refuse (no_space) a commit that grows it beyond
  // bank_size() minus room for a few counter updates and removals.
  // Fill with records of every size until the store refuses to grow.
  std::uint16_t id = 0;
  StoreResult r = StoreResult::ok;
  for (std::size_t length = 4000; length >= 4 && r == StoreResult::ok;) {
    r = put(id, pattern(length, static_cast<std::uint8_t>(id)));
    if (r == StoreResult::ok) {
      ++id;
    } else if (r == StoreResult::no_space) {
      length /= 2;
      r = StoreResult::ok;
    }
    if (length < 4) break;
  }
  ASSERT_EQ(r, StoreResult::ok);
  ASSERT_GT(id, 2);
  EXPECT_EQ(remove(0), StoreResult::ok);
  EXPECT_EQ(put(1, pattern(8, 0x42)), StoreResult::ok);
  remount();
  EXPECT_EQ(remove(2), StoreResult::ok);
}

TEST_F(RecordStoreTest, IoErrorOnFirstWrite_CommitFailsAndOldStateStaysReadable) {
  ASSERT_EQ(put(1, pattern(30, 1)), StoreResult::ok);
  flash_->fail_writes_from(1);
  EXPECT_EQ(put(1, pattern(30, 2)), StoreResult::io_error);
  EXPECT_EQ(put(2, pattern(30, 3)), StoreResult::io_error);
  EXPECT_EQ(read(1), pattern(30, 1));
  EXPECT_FALSE(store_->contains(2));
  remount();  // the fault is gone with the old flash object
  EXPECT_EQ(read(1), pattern(30, 1));
  ASSERT_EQ(put(1, pattern(30, 4)), StoreResult::ok);
  EXPECT_EQ(read(1), pattern(30, 4));
}

TEST_F(RecordStoreTest, IoErrorAfterEntryHeader_CommitFailsAndLaterCommitsWork) {
  ASSERT_EQ(put(1, pattern(30, 1)), StoreResult::ok);
  flash_->fail_writes_from(2);  // the entry header is written, its payload is not
  EXPECT_EQ(put(1, pattern(30, 2)), StoreResult::io_error);
  EXPECT_EQ(read(1), pattern(30, 1));
  remount();
  EXPECT_EQ(read(1), pattern(30, 1));
  ASSERT_EQ(put(1, pattern(30, 3)), StoreResult::ok);
  remount();
  EXPECT_EQ(read(1), pattern(30, 3));
}

// ---- swap -----------------------------------------------------------------------------

TEST_F(RecordStoreTest, Swap_BothPresent_RecordsExchangeIds) {
  ASSERT_EQ(put(1, pattern(300, 1)), StoreResult::ok);
  ASSERT_EQ(put(2, pattern(20, 2)), StoreResult::ok);
  ASSERT_EQ(swap(1, 2), StoreResult::ok);
  EXPECT_EQ(read(1), pattern(20, 2));
  EXPECT_EQ(read(2), pattern(300, 1));
  EXPECT_EQ(store_->length(1), 20u);
  EXPECT_EQ(store_->length(2), 300u);
}

TEST_F(RecordStoreTest, Swap_OnlyOnePresent_IsRenamedToTheOtherId) {
  ASSERT_EQ(put(1, pattern(50, 1)), StoreResult::ok);
  ASSERT_EQ(swap(1, 2), StoreResult::ok);
  EXPECT_FALSE(store_->contains(1));
  EXPECT_EQ(read(2), pattern(50, 1));
  // And back, naming the present record second this time.
  ASSERT_EQ(swap(1, 2), StoreResult::ok);
  EXPECT_EQ(read(1), pattern(50, 1));
  EXPECT_FALSE(store_->contains(2));
  remount();
  EXPECT_EQ(read(1), pattern(50, 1));
  EXPECT_FALSE(store_->contains(2));
}

// Decided: a swap of two absent records is a no-op, not an error. Absence is swapped like a
// value, so "neither present" has nothing to exchange; the commit succeeds and writes its
// entry (its other updates, if any, apply as usual). The same holds for swap(a, a).
TEST_F(RecordStoreTest, Swap_NeitherPresentOrSameId_NoOpCommitSucceeds) {
  ASSERT_EQ(put(3, pattern(10, 3)), StoreResult::ok);
  const std::uint32_t sequence = store_->sequence();
  RecordStore::Transaction tx = store_->begin();
  tx.swap(1, 2);
  tx.swap(3, 3);
  ASSERT_EQ(store_->commit(tx), StoreResult::ok);
  EXPECT_GT(store_->sequence(), sequence) << "the entry is written";
  EXPECT_FALSE(store_->contains(1));
  EXPECT_FALSE(store_->contains(2));
  EXPECT_EQ(read(3), pattern(10, 3));
  remount();
  EXPECT_FALSE(store_->contains(1));
  EXPECT_FALSE(store_->contains(2));
  EXPECT_EQ(read(3), pattern(10, 3));
}

TEST_F(RecordStoreTest, Swap_ReplayedAfterRemount) {
  ASSERT_EQ(put(1, pattern(300, 1)), StoreResult::ok);
  ASSERT_EQ(put(2, pattern(20, 2)), StoreResult::ok);
  ASSERT_EQ(put(3, pattern(40, 3)), StoreResult::ok);
  RecordStore::Transaction tx = store_->begin();
  tx.swap(1, 2);
  tx.swap(3, 4);
  ASSERT_EQ(store_->commit(tx), StoreResult::ok);
  ASSERT_EQ(put(1, pattern(25, 5)), StoreResult::ok);  // a later entry on a swapped id
  remount();
  EXPECT_EQ(read(1), pattern(25, 5));
  EXPECT_EQ(read(2), pattern(300, 1));
  EXPECT_FALSE(store_->contains(3));
  EXPECT_EQ(read(4), pattern(40, 3));
}

TEST_F(RecordStoreTest, Swap_CombinedWithPutsAndRemovesInOneCommit_AppliesInOrder) {
  ASSERT_EQ(put(1, pattern(100, 1)), StoreResult::ok);
  ASSERT_EQ(put(2, pattern(200, 2)), StoreResult::ok);
  ASSERT_EQ(put(5, pattern(10, 5)), StoreResult::ok);
  RecordStore::Transaction tx = store_->begin();
  tx.put(1, view(pattern(30, 9)));  // 1 = new value, then it moves to 2
  tx.swap(1, 2);                    // 1 = old 2, 2 = new value
  tx.put(3, view(pattern(40, 3)));  // a new record, then it moves to 4
  tx.swap(3, 4);
  tx.swap(5, 6);  // 5 moves to 6, then 5 is written again
  tx.put(5, view(pattern(12, 7)));
  tx.remove(6);  // and the record that came from 5 goes
  ASSERT_EQ(store_->commit(tx), StoreResult::ok);
  auto check = [&] {
    EXPECT_EQ(read(1), pattern(200, 2));
    EXPECT_EQ(read(2), pattern(30, 9));
    EXPECT_FALSE(store_->contains(3));
    EXPECT_EQ(read(4), pattern(40, 3));
    EXPECT_EQ(read(5), pattern(12, 7));
    EXPECT_FALSE(store_->contains(6));
  };
  check();
  remount();
  check();
}

TEST_F(RecordStoreTest, Swap_EntryFormat_IdSwapMarkerOtherId) {
  // A fresh store: bank 0 holds its header (16 bytes), then this commit's entry.
  RecordStore::Transaction tx = store_->begin();
  tx.swap(0x0101, 0x0182);
  ASSERT_EQ(store_->commit(tx), StoreResult::ok);
  std::uint8_t entry[RecordStore::kEntryHeaderSize + 6];
  ASSERT_EQ(flash_->read(RecordStore::kBankHeaderSize, MutableBytes(entry, sizeof entry)),
            hal::FlashResult::ok);
  EXPECT_EQ(Buffer(entry, entry + 4), Buffer({0xCE, 0x57, 0x00, 0x06}))
      << "magic, payload length 6";
  EXPECT_EQ(Buffer(entry + 12, entry + sizeof entry), Buffer({0x01, 0x01, 0xFF, 0xFE, 0x01, 0x82}));
}

TEST_F(RecordStoreTest, Swap_ThenCompaction_RecordsKeepTheirNewIds) {
  ASSERT_EQ(put(1, pattern(64, 1)), StoreResult::ok);
  ASSERT_EQ(put(2, pattern(900, 2)), StoreResult::ok);
  RecordStore::Transaction tx = store_->begin();
  tx.swap(1, 2);
  tx.swap(3, 1);  // 3 is absent: record 1 (old 2) is renamed 3, and 1 is left empty
  ASSERT_EQ(store_->commit(tx), StoreResult::ok);
  bool compacted = false;
  std::size_t free_before = store_->free_bytes();
  for (std::uint8_t i = 0; i < 40 && !compacted; ++i) {
    ASSERT_EQ(put(7, pattern(1000, i)), StoreResult::ok);
    compacted = store_->free_bytes() > free_before;
    free_before = store_->free_bytes();
  }
  ASSERT_TRUE(compacted);
  auto check = [&] {
    EXPECT_FALSE(store_->contains(1));
    EXPECT_EQ(read(2), pattern(64, 1));
    EXPECT_EQ(read(3), pattern(900, 2));
  };
  check();
  remount();
  check();
}

TEST_F(RecordStoreTest, Swap_OnAFullStore_UsesTheReserveLikeOtherCommitsThatAddNothing) {
  // Fill until the store refuses to grow; a swap adds no live data, so it still commits.
  std::uint16_t id = 0;
  for (std::size_t length = 4000; length >= 4;) {
    StoreResult r = put(id, pattern(length, static_cast<std::uint8_t>(id)));
    if (r == StoreResult::ok) {
      ++id;
    } else {
      ASSERT_EQ(r, StoreResult::no_space);
      length /= 2;
    }
  }
  ASSERT_GT(id, 2);
  const std::uint16_t last = static_cast<std::uint16_t>(id - 1);  // the smallest record
  const Buffer first = *read(0), small = *read(last);
  ASSERT_NE(first.size(), small.size());
  EXPECT_EQ(swap(0, last), StoreResult::ok);
  remount();
  EXPECT_EQ(read(0), small);
  EXPECT_EQ(read(last), first);
}

TEST_F(RecordStoreTest, Swap_ThenPutOfTheSwappedId_SizedAgainstTheRecordItReplaces) {
  // The reserve check must count a put after a swap against the record the swap left under
  // that id: here a put that replaces the big record by a small one frees space.
  std::uint16_t id = 10;
  ASSERT_EQ(put(1, pattern(3000, 1)), StoreResult::ok);
  ASSERT_EQ(put(2, pattern(8, 2)), StoreResult::ok);
  for (std::size_t length = 2000; length >= 4;) {
    if (put(id, pattern(length, 3)) == StoreResult::ok) {
      ++id;
    } else {
      length /= 2;
    }
  }
  ASSERT_EQ(put(id, pattern(100, 4)), StoreResult::no_space) << "the store is full";
  RecordStore::Transaction tx = store_->begin();
  tx.swap(1, 2);                     // 2 = the 3000 bytes, 1 = the 8 bytes
  tx.put(2, view(pattern(100, 5)));  // replaces the 3000 bytes: the live size shrinks
  ASSERT_EQ(store_->commit(tx), StoreResult::ok);
  EXPECT_EQ(read(1), pattern(8, 2));
  EXPECT_EQ(read(2), pattern(100, 5));
}

// Power cut at each write of a commit that swaps two records and puts a third: afterwards
// the store shows all of the commit or none of it.
class RecordStoreSwapTearing
    : public RecordStoreTest,
      public ::testing::WithParamInterface<std::tuple<std::uint32_t, CutMode>> {};

TEST_P(RecordStoreSwapTearing, TornSwapEntry_AllOrNothing) {
  const auto [write_number, mode] = GetParam();
  ASSERT_EQ(put(1, pattern(300, 1)), StoreResult::ok);
  ASSERT_EQ(put(2, pattern(20, 2)), StoreResult::ok);
  ASSERT_EQ(put(3, pattern(4, 3)), StoreResult::ok);
  flash_->cut_power_at(write_number, mode);
  RecordStore::Transaction tx = store_->begin();
  tx.swap(1, 2);
  tx.put(3, view(pattern(400, 4)));  // a payload of two program chunks: three writes in all
  EXPECT_EQ(store_->commit(tx), StoreResult::power_lost);
  remount();
  EXPECT_EQ(read(1), pattern(300, 1));
  EXPECT_EQ(read(2), pattern(20, 2));
  EXPECT_EQ(read(3), pattern(4, 3));
  // The store works on: the same swap commits now.
  ASSERT_EQ(swap(1, 2), StoreResult::ok);
  remount();
  EXPECT_EQ(read(1), pattern(20, 2));
  EXPECT_EQ(read(2), pattern(300, 1));
}

INSTANTIATE_TEST_SUITE_P(EachWriteOfACommit, RecordStoreSwapTearing,
                         ::testing::Combine(::testing::Values(1u, 2u, 3u),
                                            ::testing::Values(CutMode::torn_write,
                                                              CutMode::before_write)),
                         [](const ::testing::TestParamInfo<RecordStoreSwapTearing::ParamType>& p) {
                           return "Write" + std::to_string(std::get<0>(p.param)) +
                                  (std::get<1>(p.param) == CutMode::torn_write ? "_Torn"
                                                                               : "_Before");
                         });

// Power cut during the N-th flash write of a commit whose payload takes three writes
// (entry header, then two program chunks), before the write or half-way through it.
class RecordStoreTearing
    : public RecordStoreTest,
      public ::testing::WithParamInterface<std::tuple<std::uint32_t, CutMode>> {};

TEST_P(RecordStoreTearing, TornEntry_IgnoredAfterRemountAndLaterCommitsWork) {
  const auto [write_number, mode] = GetParam();
  ASSERT_EQ(put(1, pattern(300, 1)), StoreResult::ok);
  ASSERT_EQ(put(2, pattern(20, 2)), StoreResult::ok);
  const std::uint32_t sequence = store_->sequence();

  flash_->cut_power_at(write_number, mode);
  EXPECT_EQ(put(1, pattern(300, 9)), StoreResult::power_lost);
  EXPECT_TRUE(flash_->power_lost());

  remount();
  EXPECT_EQ(read(1), pattern(300, 1)) << "the torn update must not be visible";
  EXPECT_EQ(read(2), pattern(20, 2));
  EXPECT_GE(store_->sequence(), sequence);

  ASSERT_EQ(put(1, pattern(300, 3)), StoreResult::ok);
  ASSERT_EQ(put(3, pattern(10, 4)), StoreResult::ok);
  remount();
  EXPECT_EQ(read(1), pattern(300, 3));
  EXPECT_EQ(read(2), pattern(20, 2));
  EXPECT_EQ(read(3), pattern(10, 4));
}

INSTANTIATE_TEST_SUITE_P(EachWriteOfACommit, RecordStoreTearing,
                         ::testing::Combine(::testing::Values(1u, 2u, 3u),
                                            ::testing::Values(CutMode::torn_write,
                                                              CutMode::before_write)),
                         [](const ::testing::TestParamInfo<RecordStoreTearing::ParamType>& p) {
                           return "Write" + std::to_string(std::get<0>(p.param)) +
                                  (std::get<1>(p.param) == CutMode::torn_write ? "_Torn"
                                                                               : "_Before");
                         });

}  // namespace
}  // namespace certkey::agent
