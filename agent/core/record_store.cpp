#include "record_store.hpp"

#include <certkey/protocol/crc32.hpp>

namespace certkey::agent {

using protocol::crc32;
namespace {

constexpr std::uint32_t kBankMagic = 0x434B424B;  // "CKBK"
constexpr std::uint16_t kEntryMagic = 0xCE57;
constexpr std::size_t kRecordHeaderSize = 4;  // id u16, length u16

constexpr std::size_t align4(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

StoreResult from_flash(hal::FlashResult r) {
  switch (r) {
    case hal::FlashResult::ok: return StoreResult::ok;
    case hal::FlashResult::power_lost: return StoreResult::power_lost;
    case hal::FlashResult::io_error: break;
  }
  return StoreResult::io_error;
}

bool all_erased(Bytes bytes) {
  for (std::uint8_t b : bytes) {
    if (b != 0xFF) return false;
  }
  return true;
}

}  // namespace

// ---- index -------------------------------------------------------------------------------

const RecordStore::IndexEntry* RecordStore::find(std::uint16_t id) const {
  for (std::size_t i = 0; i < index_count_; ++i) {
    if (index_[i].id == id) return &index_[i];
  }
  return nullptr;
}

RecordStore::IndexEntry* RecordStore::find(std::uint16_t id) {
  for (std::size_t i = 0; i < index_count_; ++i) {
    if (index_[i].id == id) return &index_[i];
  }
  return nullptr;
}

bool RecordStore::index_put(std::uint16_t id, std::uint16_t length, std::uint32_t offset) {
  for (std::size_t i = 0; i < index_count_; ++i) {
    if (index_[i].id == id) {
      index_[i].length = length;
      index_[i].offset = offset;
      return true;
    }
  }
  if (index_count_ == kMaxRecords) return false;
  index_[index_count_++] = IndexEntry{id, length, offset};
  return true;
}

void RecordStore::index_remove(std::uint16_t id) {
  for (std::size_t i = 0; i < index_count_; ++i) {
    if (index_[i].id == id) {
      index_[i] = index_[--index_count_];
      return;
    }
  }
}

// The records trade ids; the data stays where it is on flash. One record alone takes the
// other id, and with neither (or a == b) nothing changes.
void RecordStore::index_swap(std::uint16_t a, std::uint16_t b) {
  IndexEntry* record_a = find(a);
  IndexEntry* record_b = find(b);
  if (record_a) record_a->id = b;
  if (record_b) record_b->id = a;
}

std::size_t RecordStore::length(std::uint16_t id) const {
  const IndexEntry* e = find(id);
  return e ? e->length : 0;
}

StoreResult RecordStore::read(std::uint16_t id, MutableBytes out, std::size_t& length) const {
  const IndexEntry* e = find(id);
  if (!e) return StoreResult::not_found;
  if (out.size() < e->length) return StoreResult::too_large;
  length = e->length;
  return from_flash(flash_.read(e->offset, out.subspan(0, e->length)));
}

StoreResult RecordStore::read_prefix(std::uint16_t id, MutableBytes out) const {
  const IndexEntry* e = find(id);
  if (!e) return StoreResult::not_found;
  if (out.size() > e->length) return StoreResult::too_large;
  return from_flash(flash_.read(e->offset, out));
}

// ---- writing -----------------------------------------------------------------------------

StoreResult RecordStore::program(std::size_t offset, Bytes data) {
  while (!data.empty()) {
    std::size_t n = data.size() < kProgramChunk ? data.size() : kProgramChunk;
    ++flash_writes_;
    StoreResult r = from_flash(flash_.program(offset, data.subspan(0, n)));
    if (r != StoreResult::ok) return r;
    offset += n;
    data = data.subspan(n);
  }
  return StoreResult::ok;
}

StoreResult RecordStore::erase_bank(int bank) {
  // The unit holding the bank header goes first, so a half-erased bank is never valid.
  for (std::size_t off = 0; off < bank_size(); off += flash_.erase_unit()) {
    ++flash_writes_;
    StoreResult r = from_flash(flash_.erase(bank_base(bank) + off));
    if (r != StoreResult::ok) return r;
  }
  return StoreResult::ok;
}

// Bank header: magic, generation, sequence base (entries in the bank number from it), CRC.
StoreResult RecordStore::write_bank_header(int bank, std::uint32_t generation,
                                           std::uint32_t sequence_base) {
  std::uint8_t header[kBankHeaderSize];
  store_be32(header, kBankMagic);
  store_be32(header + 4, generation);
  store_be32(header + 8, sequence_base);
  store_be32(header + 12, crc32(Bytes(header, 12)));
  return program(bank_base(bank), Bytes(header, sizeof header));
}

StoreResult RecordStore::format_bank(int bank, std::uint32_t generation) {
  StoreResult r = erase_bank(bank);
  if (r != StoreResult::ok) return r;
  return write_bank_header(bank, generation, 0);
}

StoreResult RecordStore::write_entry(std::size_t offset, std::uint32_t seq, Bytes payload) {
  std::uint8_t header[kEntryHeaderSize];
  store_be16(header, kEntryMagic);
  store_be16(header + 2, static_cast<std::uint16_t>(payload.size()));
  store_be32(header + 4, seq);
  store_be32(header + 8, crc32(payload, crc32(Bytes(header, 8))));
  std::size_t base = bank_base(active_bank_) + offset;
  StoreResult r = program(base, Bytes(header, sizeof header));
  if (r != StoreResult::ok) return r;
  return program(base + kEntryHeaderSize, payload);
}

// ---- mounting ----------------------------------------------------------------------------

bool RecordStore::read_bank_header(int bank, std::uint32_t& generation,
                                   std::uint32_t& sequence_base) {
  std::uint8_t header[kBankHeaderSize];
  if (flash_.read(bank_base(bank), MutableBytes(header, sizeof header)) != hal::FlashResult::ok) {
    return false;
  }
  if (load_be32(header) != kBankMagic || load_be32(header + 12) != crc32(Bytes(header, 12))) {
    return false;
  }
  generation = load_be32(header + 4);
  sequence_base = load_be32(header + 8);
  return true;
}

StoreResult RecordStore::check_entry(std::size_t offset, std::uint16_t& payload_length,
                                     std::uint32_t& seq) {
  std::uint8_t header[kEntryHeaderSize];
  std::size_t base = bank_base(active_bank_) + offset;
  StoreResult r = from_flash(flash_.read(base, MutableBytes(header, sizeof header)));
  if (r != StoreResult::ok) return r;
  payload_length = load_be16(header + 2);
  seq = load_be32(header + 4);
  if (load_be16(header) != kEntryMagic || payload_length > kMaxEntryPayload ||
      offset + kEntryHeaderSize + payload_length > bank_size() || seq <= sequence_) {
    return StoreResult::not_found;
  }
  // CRC over header and payload, then the payload must split exactly into records.
  std::uint32_t crc = crc32(Bytes(header, 8));
  std::uint8_t chunk[kProgramChunk];
  std::size_t pos = 0;
  while (pos < payload_length) {
    std::size_t n = payload_length - pos < sizeof chunk ? payload_length - pos : sizeof chunk;
    r = from_flash(flash_.read(base + kEntryHeaderSize + pos, MutableBytes(chunk, n)));
    if (r != StoreResult::ok) return r;
    crc = crc32(Bytes(chunk, n), crc);
    pos += n;
  }
  if (crc != load_be32(header + 8)) return StoreResult::not_found;
  pos = 0;
  while (pos < payload_length) {
    if (payload_length - pos < kRecordHeaderSize) return StoreResult::not_found;
    r = from_flash(flash_.read(base + kEntryHeaderSize + pos, MutableBytes(chunk, 4)));
    if (r != StoreResult::ok) return r;
    std::uint16_t len = load_be16(chunk + 2);
    std::size_t data_len = len == kDeleteMarker ? 0 : len == kSwapMarker ? kSwapDataSize : len;
    if (payload_length - pos - kRecordHeaderSize < data_len) return StoreResult::not_found;
    pos += kRecordHeaderSize + data_len;
  }
  return StoreResult::ok;
}

void RecordStore::index_entry_payload(std::size_t payload_offset, std::uint16_t payload_length) {
  std::size_t base = bank_base(active_bank_) + payload_offset;
  std::size_t pos = 0;
  while (pos < payload_length) {
    std::uint8_t h[kRecordHeaderSize];
    if (flash_.read(base + pos, MutableBytes(h, sizeof h)) != hal::FlashResult::ok) return;
    std::uint16_t id = load_be16(h);
    std::uint16_t len = load_be16(h + 2);
    if (len == kDeleteMarker) {
      index_remove(id);
      pos += kRecordHeaderSize;
    } else if (len == kSwapMarker) {
      std::uint8_t other[kSwapDataSize];
      if (flash_.read(base + pos + kRecordHeaderSize, MutableBytes(other, sizeof other)) !=
          hal::FlashResult::ok) {
        return;
      }
      index_swap(id, load_be16(other));
      pos += kRecordHeaderSize + kSwapDataSize;
    } else {
      index_put(id, len, static_cast<std::uint32_t>(base + pos + kRecordHeaderSize));
      pos += kRecordHeaderSize + len;
    }
  }
}

StoreResult RecordStore::scan_active_bank(bool& tail_clean) {
  index_count_ = 0;
  tail_clean = true;
  std::size_t offset = kBankHeaderSize;
  std::uint8_t probe[kEntryHeaderSize];
  while (offset + kEntryHeaderSize <= bank_size()) {
    StoreResult r = from_flash(
        flash_.read(bank_base(active_bank_) + offset, MutableBytes(probe, sizeof probe)));
    if (r != StoreResult::ok) return r;
    if (all_erased(Bytes(probe, sizeof probe))) break;
    std::uint16_t length = 0;
    std::uint32_t seq = 0;
    r = check_entry(offset, length, seq);
    if (r == StoreResult::not_found) {
      tail_clean = false;  // torn or corrupt: everything from here on is ignored
      break;
    }
    if (r != StoreResult::ok) return r;
    index_entry_payload(offset + kEntryHeaderSize, length);
    sequence_ = seq;
    offset += align4(kEntryHeaderSize + length);
  }
  tail_ = offset;
  // A torn write can leave bytes after an erased-looking header; the next entry's whole span
  // must be erased before anything is appended there.
  std::size_t end = tail_ + kEntryHeaderSize + kMaxEntryPayload;
  if (end > bank_size()) end = bank_size();
  std::uint8_t chunk[kProgramChunk];
  for (std::size_t off = tail_; tail_clean && off < end; off += sizeof chunk) {
    std::size_t n = end - off < sizeof chunk ? end - off : sizeof chunk;
    StoreResult r = from_flash(flash_.read(bank_base(active_bank_) + off, MutableBytes(chunk, n)));
    if (r != StoreResult::ok) return r;
    if (!all_erased(Bytes(chunk, n))) tail_clean = false;
  }
  return StoreResult::ok;
}

StoreResult RecordStore::mount() {
  index_count_ = 0;
  sequence_ = 0;
  tail_dirty_ = false;
  std::uint32_t g0 = 0, g1 = 0, s0 = 0, s1 = 0;
  bool v0 = read_bank_header(0, g0, s0);
  bool v1 = read_bank_header(1, g1, s1);
  if (!v0 && !v1) {
    active_bank_ = 0;
    generation_ = 1;
    tail_ = kBankHeaderSize;
    return format_bank(0, generation_);
  }
  active_bank_ = (v0 && (!v1 || g0 > g1)) ? 0 : 1;
  generation_ = active_bank_ == 0 ? g0 : g1;
  sequence_ = active_bank_ == 0 ? s0 : s1;
  bool tail_clean = true;
  StoreResult r = scan_active_bank(tail_clean);
  if (r != StoreResult::ok) return r;
  return tail_clean ? StoreResult::ok : compact();
}

// ---- compaction --------------------------------------------------------------------------

StoreResult RecordStore::copy_record(const IndexEntry& entry, int bank, std::size_t& offset,
                                     std::uint32_t seq) {
  std::uint8_t header[kEntryHeaderSize + kRecordHeaderSize];
  std::uint16_t payload_length = static_cast<std::uint16_t>(kRecordHeaderSize + entry.length);
  store_be16(header, kEntryMagic);
  store_be16(header + 2, payload_length);
  store_be32(header + 4, seq);
  store_be16(header + 12, entry.id);
  store_be16(header + 14, entry.length);
  std::uint32_t crc = crc32(Bytes(header + 12, kRecordHeaderSize), crc32(Bytes(header, 8)));
  std::uint8_t chunk[kProgramChunk];
  for (std::size_t pos = 0; pos < entry.length; pos += sizeof chunk) {
    std::size_t n = entry.length - pos < sizeof chunk ? entry.length - pos : sizeof chunk;
    StoreResult r = from_flash(flash_.read(entry.offset + pos, MutableBytes(chunk, n)));
    if (r != StoreResult::ok) return r;
    crc = crc32(Bytes(chunk, n), crc);
  }
  store_be32(header + 8, crc);
  std::size_t dest = bank_base(bank) + offset;
  StoreResult r = program(dest, Bytes(header, sizeof header));
  for (std::size_t pos = 0; r == StoreResult::ok && pos < entry.length; pos += sizeof chunk) {
    std::size_t n = entry.length - pos < sizeof chunk ? entry.length - pos : sizeof chunk;
    r = from_flash(flash_.read(entry.offset + pos, MutableBytes(chunk, n)));
    if (r == StoreResult::ok) r = program(dest + sizeof header + pos, Bytes(chunk, n));
  }
  offset += align4(kEntryHeaderSize + payload_length);
  return r;
}

StoreResult RecordStore::compact() {
  int target = 1 - active_bank_;
  if (live_size() > bank_size()) return StoreResult::no_space;
  StoreResult r = erase_bank(target);
  if (r != StoreResult::ok) return r;
  std::size_t offset = kBankHeaderSize;
  std::uint32_t seq = sequence_;
  for (std::size_t i = 0; i < index_count_; ++i) {
    r = copy_record(index_[i], target, offset, ++seq);
    if (r != StoreResult::ok) return r;
  }
  // The new bank becomes active only once its header is whole. Its sequence base is the
  // last number used, so sequence numbers keep growing even when no record is copied.
  const std::uint32_t base = sequence_;
  r = write_bank_header(target, generation_ + 1, base);
  if (r != StoreResult::ok) return r;
  active_bank_ = target;
  generation_ += 1;
  sequence_ = base;  // rescanning re-reads the sequence numbers just written
  bool tail_clean = true;
  r = scan_active_bank(tail_clean);
  if (r != StoreResult::ok) return r;
  tail_dirty_ = !tail_clean;
  return tail_clean ? StoreResult::ok : StoreResult::io_error;
}

std::size_t RecordStore::compacted_record_size(std::size_t length) {
  return align4(kEntryHeaderSize + kRecordHeaderSize + length);
}

std::size_t RecordStore::live_size() const {
  std::size_t size = kBankHeaderSize;
  for (std::size_t i = 0; i < index_count_; ++i) size += compacted_record_size(index_[i].length);
  return size;
}

// The payload is applied to a copy of the index's ids and lengths, update by update as
// index_entry_payload will apply it, so puts, removals and swaps in any order are counted
// exactly. The records must stay within kMaxRecords at every step (the index has no room for
// more), the live size after the commit must fit a bank, and if the commit adds live data it
// must also leave the reserve free. A swap renames records, so it never changes the size.
bool RecordStore::fits(Bytes payload) {
  std::size_t count = index_count_;
  for (std::size_t i = 0; i < count; ++i) fit_work_[i] = Sizing{index_[i].id, index_[i].length};
  auto lookup = [&](std::uint16_t id) -> Sizing* {
    for (std::size_t i = 0; i < count; ++i) {
      if (fit_work_[i].id == id) return &fit_work_[i];
    }
    return nullptr;
  };
  for (std::size_t pos = 0; pos < payload.size();) {
    const std::uint16_t id = load_be16(&payload[pos]);
    const std::uint16_t len = load_be16(&payload[pos + 2]);
    if (len == kDeleteMarker) {
      if (Sizing* record = lookup(id)) *record = fit_work_[--count];
      pos += kRecordHeaderSize;
    } else if (len == kSwapMarker) {
      const std::uint16_t other = load_be16(&payload[pos + kRecordHeaderSize]);
      Sizing* record_a = lookup(id);
      Sizing* record_b = lookup(other);
      if (record_a) record_a->id = other;
      if (record_b) record_b->id = id;
      pos += kRecordHeaderSize + kSwapDataSize;
    } else {
      if (Sizing* record = lookup(id)) {
        record->length = len;
      } else if (count == kMaxRecords) {
        return false;
      } else {
        fit_work_[count++] = Sizing{id, len};
      }
      pos += kRecordHeaderSize + len;
    }
  }
  std::size_t after = kBankHeaderSize;
  for (std::size_t i = 0; i < count; ++i) after += compacted_record_size(fit_work_[i].length);
  if (after > bank_size()) return false;
  return after <= live_size() || after + kReserve <= bank_size();
}

// ---- transactions ------------------------------------------------------------------------

RecordStore::Transaction RecordStore::begin() {
  staging_used_ = 0;
  return Transaction(*this);
}

void RecordStore::Transaction::append(std::uint16_t id, std::uint16_t length, Bytes data) {
  RecordStore& s = store_;
  if (overflow_ || kRecordHeaderSize + data.size() > sizeof s.staging_ - s.staging_used_) {
    overflow_ = true;
    return;
  }
  store_be16(s.staging_ + s.staging_used_, id);
  store_be16(s.staging_ + s.staging_used_ + 2, length);
  for (std::size_t i = 0; i < data.size(); ++i) {
    s.staging_[s.staging_used_ + kRecordHeaderSize + i] = data[i];
  }
  s.staging_used_ += kRecordHeaderSize + data.size();
}

void RecordStore::Transaction::put(std::uint16_t id, Bytes data) {
  if (data.size() > kMaxRecordLength) {
    overflow_ = true;
    return;
  }
  append(id, static_cast<std::uint16_t>(data.size()), data);
}

void RecordStore::Transaction::remove(std::uint16_t id) { append(id, kDeleteMarker, Bytes()); }

void RecordStore::Transaction::swap(std::uint16_t a, std::uint16_t b) {
  std::uint8_t other[kSwapDataSize];
  store_be16(other, b);
  append(a, kSwapMarker, Bytes(other, sizeof other));
}

StoreResult RecordStore::commit(Transaction& tx) {
  Bytes payload(staging_, staging_used_);
  if (tx.overflow_) return StoreResult::too_large;
  std::size_t need = align4(kEntryHeaderSize + payload.size());
  if (!fits(payload)) return StoreResult::no_space;
  if (tail_dirty_ || tail_ + need > bank_size()) {
    StoreResult r = compact();
    if (r != StoreResult::ok) return r;
  }
  if (tail_ + need > bank_size()) return StoreResult::no_space;

  std::uint32_t seq = sequence_ + 1;
  StoreResult r = write_entry(tail_, seq, payload);
  if (r == StoreResult::ok) {
    // Read back what flash holds now; the index is built from that, never from RAM.
    std::uint16_t length = 0;
    std::uint32_t read_seq = 0;
    r = check_entry(tail_, length, read_seq);
    if (r == StoreResult::not_found) r = StoreResult::io_error;
  }
  if (r != StoreResult::ok) {
    tail_dirty_ = true;
    return r;
  }
  index_entry_payload(tail_ + kEntryHeaderSize, static_cast<std::uint16_t>(payload.size()));
  sequence_ = seq;
  tail_ += need;
  return StoreResult::ok;
}

}  // namespace certkey::agent
