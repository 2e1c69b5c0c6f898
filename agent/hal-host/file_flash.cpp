#include "file_flash.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace certkey::agent::host {

FileFlash::FileFlash(std::string path, std::size_t size, std::size_t erase_unit)
    : path_(std::move(path)), erase_unit_(erase_unit), image_(size, 0xFF) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  if (static_cast<std::size_t>(st.st_size) == size) {
    if (::pread(fd_, image_.data(), size, 0) != static_cast<ssize_t>(size)) {
      ::close(fd_);
      fd_ = -1;
    }
  } else if (st.st_size != 0 || !persist(0, size)) {
    ::close(fd_);  // a file of another size is not ours to reformat
    fd_ = -1;
  }
}

FileFlash::~FileFlash() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileFlash::persist(std::size_t offset, std::size_t length) {
  return ::pwrite(fd_, image_.data() + offset, length, static_cast<off_t>(offset)) ==
         static_cast<ssize_t>(length);
}

void FileFlash::cut_power_at(std::uint32_t write_number, CutMode mode) {
  cut_at_ = writes_ + write_number;
  cut_mode_ = mode;
}

void FileFlash::fail_writes_from(std::uint32_t write_number) {
  fail_from_ = writes_ + write_number;
}

hal::FlashResult FileFlash::read(std::size_t offset, MutableBytes out) {
  if (dead_) return hal::FlashResult::power_lost;
  if (fd_ < 0 || offset > image_.size() || out.size() > image_.size() - offset) {
    return hal::FlashResult::io_error;
  }
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = image_[offset + i];
  return hal::FlashResult::ok;
}

hal::FlashResult FileFlash::before_write() {
  if (dead_) return hal::FlashResult::power_lost;
  ++writes_;
  tear_this_write_ = false;
  if (cut_at_ != 0 && writes_ == cut_at_) {
    dead_ = true;
    if (cut_mode_ == CutMode::before_write) return hal::FlashResult::power_lost;
    tear_this_write_ = true;  // the caller applies half of this write, then reports power loss
  }
  if (fail_from_ != 0 && writes_ >= fail_from_) return hal::FlashResult::io_error;
  return hal::FlashResult::ok;
}

hal::FlashResult FileFlash::program(std::size_t offset, Bytes data) {
  hal::FlashResult r = before_write();
  if (r != hal::FlashResult::ok && !tear_this_write_) return r;
  if (fd_ < 0 || offset > image_.size() || data.size() > image_.size() - offset) {
    return hal::FlashResult::io_error;
  }
  const std::size_t n = tear_this_write_ ? data.size() / 2 : data.size();
  for (std::size_t i = 0; i < n; ++i) image_[offset + i] &= data[i];  // NOR: 1 -> 0 only
  if (!persist(offset, n)) return hal::FlashResult::io_error;
  return tear_this_write_ ? hal::FlashResult::power_lost : hal::FlashResult::ok;
}

hal::FlashResult FileFlash::erase(std::size_t unit_offset) {
  hal::FlashResult r = before_write();
  if (r != hal::FlashResult::ok && !tear_this_write_) return r;
  if (fd_ < 0 || unit_offset % erase_unit_ != 0 || unit_offset >= image_.size()) {
    return hal::FlashResult::io_error;
  }
  const std::size_t n = tear_this_write_ ? erase_unit_ / 2 : erase_unit_;
  for (std::size_t i = 0; i < n; ++i) image_[unit_offset + i] = 0xFF;
  if (!persist(unit_offset, n)) return hal::FlashResult::io_error;
  return tear_this_write_ ? hal::FlashResult::power_lost : hal::FlashResult::ok;
}

}  // namespace certkey::agent::host
