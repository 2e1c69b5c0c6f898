// Atomic record store on flash (docs/storage.md).
//
// The flash is split into two banks. The active bank holds a bank header and then an
// append-only log of entries. One entry carries any number of record updates and ends in a
// CRC over all of it, so one commit is one entry: after a power cut at any flash write, an
// entry is either whole (CRC valid) or ignored. When a bank fills up, or mount finds a torn
// tail, the live records are copied into the other bank, whose header (with a higher
// generation) is written last; until that header is whole the old bank stays active.
//
// Besides putting and removing records, a transaction can swap the identities of two records.
// A swap is logged as metadata (the two ids, no data), so it costs a few bytes however large
// the records are, and it is as atomic as any other update of its entry.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../hal/flash.hpp"
#include "bytes.hpp"
#include <certkey/protocol/limits.hpp>

namespace certkey::agent {

enum class StoreResult : std::uint8_t { ok, not_found, no_space, too_large, io_error, power_lost };

class RecordStore {
 public:
  static constexpr std::size_t kMaxRecords = 128;
  static constexpr std::size_t kMaxRecordLength = protocol::kMaxDataObject + 64;
  static constexpr std::size_t kMaxEntryPayload = kMaxRecordLength + 512;
  static constexpr std::size_t kEntryHeaderSize = 12;
  static constexpr std::size_t kBankHeaderSize = 16;
  static constexpr std::size_t kProgramChunk = 256;  // bytes per flash program call
  // Commits that add live data must leave this much of a compacted bank free, so that
  // retry-counter updates and removals always fit: a full store can never lock itself.
  static constexpr std::size_t kReserve = 512;

  explicit RecordStore(hal::Flash& flash) : flash_(flash) {}

  // Finds the active bank, rebuilds the index, and repairs a torn tail. A blank flash is
  // formatted; callers personalise when their records are missing.
  StoreResult mount();

  bool contains(std::uint16_t id) const { return find(id) != nullptr; }
  std::size_t length(std::uint16_t id) const;
  // Reads a whole record from flash; out must be at least length(id) bytes.
  StoreResult read(std::uint16_t id, MutableBytes out, std::size_t& length) const;
  // Reads the first out.size() bytes of a record (for headers of large records).
  StoreResult read_prefix(std::uint16_t id, MutableBytes out) const;

  // Stages updates for one atomic commit. Only one transaction exists at a time. Updates
  // apply in the order they were staged.
  class Transaction {
   public:
    void put(std::uint16_t id, Bytes data);
    void remove(std::uint16_t id);
    // Exchanges the identities of records a and b: what was stored under a is then stored
    // under b, and the reverse. Absence swaps too: if only one exists, it is renamed to the
    // other id; if neither exists (or a == b), nothing changes. No record data is copied.
    void swap(std::uint16_t a, std::uint16_t b);
    bool overflowed() const { return overflow_; }

   private:
    friend class RecordStore;
    explicit Transaction(RecordStore& store) : store_(store) {}
    void append(std::uint16_t id, std::uint16_t length, Bytes data);
    RecordStore& store_;
    bool overflow_ = false;
  };
  Transaction begin();
  StoreResult commit(Transaction& tx);

  // Sequence number of the last committed entry; it only grows.
  std::uint32_t sequence() const { return sequence_; }
  std::size_t free_bytes() const { return bank_size() - tail_; }
  // Counts how many flash program/erase calls the store has issued (for the tearing report).
  std::uint32_t flash_writes() const { return flash_writes_; }

 private:
  struct IndexEntry {
    std::uint16_t id;
    std::uint16_t length;
    std::uint32_t offset;  // absolute flash offset of the data
  };
  // Length-field values that are not lengths (docs/storage.md 3.3).
  static constexpr std::uint16_t kDeleteMarker = 0xFFFF;
  static constexpr std::uint16_t kSwapMarker = 0xFFFE;  // data: the other record's id
  static constexpr std::size_t kSwapDataSize = 2;
  static_assert(kMaxRecordLength < kSwapMarker, "a record length never reads as a marker");
  // A record's id and length, for working out the effect of a commit before it is written.
  struct Sizing {
    std::uint16_t id;
    std::uint16_t length;
  };

  std::size_t bank_size() const { return flash_.size() / 2; }
  std::size_t bank_base(int bank) const { return static_cast<std::size_t>(bank) * bank_size(); }
  const IndexEntry* find(std::uint16_t id) const;
  IndexEntry* find(std::uint16_t id);
  bool index_put(std::uint16_t id, std::uint16_t length, std::uint32_t offset);
  void index_remove(std::uint16_t id);
  void index_swap(std::uint16_t a, std::uint16_t b);

  StoreResult format_bank(int bank, std::uint32_t generation);
  bool fits(Bytes payload);
  bool read_bank_header(int bank, std::uint32_t& generation, std::uint32_t& sequence_base);
  StoreResult write_bank_header(int bank, std::uint32_t generation, std::uint32_t sequence_base);
  // Bytes the live records take once compacted (each record in an entry of its own).
  std::size_t live_size() const;
  static std::size_t compacted_record_size(std::size_t length);
  StoreResult scan_active_bank(bool& tail_clean);
  StoreResult check_entry(std::size_t offset, std::uint16_t& payload_length, std::uint32_t& seq);
  void index_entry_payload(std::size_t payload_offset, std::uint16_t payload_length);
  StoreResult compact();
  StoreResult write_entry(std::size_t bank_offset_of_entry, std::uint32_t seq, Bytes payload);
  StoreResult program(std::size_t offset, Bytes data);
  StoreResult erase_bank(int bank);
  StoreResult copy_record(const IndexEntry& entry, int bank, std::size_t& write_offset,
                          std::uint32_t seq);

  hal::Flash& flash_;
  IndexEntry index_[kMaxRecords] = {};
  std::size_t index_count_ = 0;
  int active_bank_ = 0;
  std::uint32_t generation_ = 0;
  std::uint32_t sequence_ = 0;
  std::size_t tail_ = 0;  // offset inside the active bank where the next entry goes
  bool tail_dirty_ = false;
  std::uint32_t flash_writes_ = 0;
  std::uint8_t staging_[kMaxEntryPayload] = {};
  std::size_t staging_used_ = 0;
  Sizing fit_work_[kMaxRecords] = {};  // fits(): the index as the staged commit would leave it
};

}  // namespace certkey::agent
