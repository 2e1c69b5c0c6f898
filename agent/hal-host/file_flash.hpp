// hal::Flash on a file, with the faults a tearing test needs: power lost at the N-th
// program/erase (before it, or half-way through it), or I/O errors from the N-th write on.
// NOR semantics are enforced (program only clears bits), so the store cannot rely on
// overwriting what it already wrote.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../hal/flash.hpp"

namespace certkey::agent::host {

enum class CutMode : std::uint8_t { before_write, torn_write };

class FileFlash final : public hal::Flash {
 public:
  static constexpr std::size_t kDefaultSize = 512 * 1024;
  static constexpr std::size_t kDefaultEraseUnit = 4096;

  // Opens or creates the file; a new file reads as erased. Returns false through ok().
  FileFlash(std::string path, std::size_t size = kDefaultSize,
            std::size_t erase_unit = kDefaultEraseUnit);
  ~FileFlash();
  FileFlash(const FileFlash&) = delete;
  FileFlash& operator=(const FileFlash&) = delete;
  bool ok() const { return fd_ >= 0; }

  std::size_t size() const override { return image_.size(); }
  std::size_t erase_unit() const override { return erase_unit_; }
  hal::FlashResult read(std::size_t offset, MutableBytes out) override;
  hal::FlashResult program(std::size_t offset, Bytes data) override;
  hal::FlashResult erase(std::size_t unit_offset) override;

  // Fault injection, counted in program/erase calls from now on (1 = the next one).
  void cut_power_at(std::uint32_t write_number, CutMode mode);
  void fail_writes_from(std::uint32_t write_number);
  bool power_lost() const { return dead_; }
  std::uint32_t writes() const { return writes_; }

 private:
  hal::FlashResult before_write();
  bool persist(std::size_t offset, std::size_t length);

  std::string path_;
  int fd_ = -1;
  std::size_t erase_unit_;
  std::vector<std::uint8_t> image_;
  std::uint32_t writes_ = 0;
  std::uint32_t cut_at_ = 0;
  CutMode cut_mode_ = CutMode::before_write;
  std::uint32_t fail_from_ = 0;
  bool dead_ = false;
  bool tear_this_write_ = false;
};

}  // namespace certkey::agent::host
