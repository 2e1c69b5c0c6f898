#include "sd_command_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

namespace certkey::drivers::sdkey {
namespace {

namespace sd = protocol::sd;
using protocol::SdFragment;

// A command file that answers with an I/O error belongs to a card that was pulled or
// unmounted; anything else (EBUSY from a card still working on an earlier command, EINTR)
// fails this exchange only.
TransmitStatus io_failure() {
  return errno == EIO || errno == ENODEV || errno == ENXIO || errno == ENOTCONN ||
                 errno == ECONNABORTED || errno == ENOENT || errno == ESTALE
             ? TransmitStatus::gone
             : TransmitStatus::failed;
}

std::uint8_t* aligned_blocks(std::size_t size) {
  void* p = nullptr;
  return ::posix_memalign(&p, sd::kBlockSize, size) == 0 ? static_cast<std::uint8_t*>(p) : nullptr;
}

// /proc/mounts writes space, tab, newline and backslash in paths as octal escapes.
std::string unescape_mount_path(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string digits = field.substr(i + 1, 3);
      if (digits.size() == 3 &&
          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(static_cast<char>(std::stoi(digits, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

}  // namespace

void SdCommandFile::FreeAligned::operator()(std::uint8_t* p) const { std::free(p); }

SdCommandFile::SdCommandFile(std::string path)
    : path_(std::move(path)),
      command_(aligned_blocks(sd::kCommandArea)),
      fragment_(aligned_blocks(sd::kFragmentSize)) {
  std::uint32_t start = 0;
  if (::getrandom(&start, sizeof start, 0) == sizeof start) sequence_ = start;
}

SdCommandFile::~SdCommandFile() { close(); }

bool SdCommandFile::open(dev_t mount_device) {
  close();
  if (!command_ || !fragment_) return false;
  // pcscd runs as root and writes to this file: a card's file system (a user's own stick,
  // say) must not be able to point it anywhere else.
  // Looked at before it is opened, so that no device node or FIFO is ever opened, and again
  // after, so that it is still the same file.
  struct stat before {
  }, st{};
  if (::lstat(path_.c_str(), &before) != 0 || !S_ISREG(before.st_mode)) return false;
  const int fd = ::open(path_.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_ino != before.st_ino ||
      st.st_dev != before.st_dev || st.st_dev != mount_device ||
      static_cast<std::size_t>(st.st_size) != sd::kFileSize) {
    if (fd >= 0) ::close(fd);
    return false;
  }
  fd_ = fd;
  return true;
}

void SdCommandFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

TransmitStatus SdCommandFile::write_command(std::uint32_t sequence, Bytes command) {
  const std::size_t size = protocol::encode_sd_command(
      sequence, command, MutableBytes(command_.get(), sd::kCommandArea));
  if (size == 0) return TransmitStatus::failed;
  const ssize_t written = ::pwrite(fd_, command_.get(), size, 0);
  protocol::secure_zero(MutableBytes(command_.get(), size));  // commands carry PINs
  if (written < 0) return io_failure();
  return static_cast<std::size_t>(written) == size ? TransmitStatus::ok : TransmitStatus::failed;
}

TransmitStatus SdCommandFile::read_fragment(std::uint8_t index, std::uint32_t sequence,
                                            SdFragment& out) {
  const off_t offset = static_cast<off_t>(sd::kResponseOffset + index * sd::kFragmentSize);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  auto pause = std::chrono::milliseconds(1);
  int bad_reads = 0, busy_reads = 0;
  for (;;) {
    const ssize_t n = ::pread(fd_, fragment_.get(), sd::kFragmentSize, offset);
    if (n < 0) return io_failure();
    const bool valid =
        static_cast<std::size_t>(n) == sd::kFragmentSize &&
        protocol::parse_sd_fragment(Bytes(fragment_.get(), sd::kFragmentSize), out) &&
        out.sequence == sequence && out.index == index;
    if (!valid) {
      // Torn (the card was pulled mid-read) or stale: read again, then give up cleanly.
      if (++bad_reads >= kFragmentReads) return TransmitStatus::failed;
      continue;
    }
    if (out.status == sd::Status::ready) return TransmitStatus::ok;
    if (std::chrono::steady_clock::now() > deadline) return TransmitStatus::timeout;
    // Busy: the card is still working. Most commands finish within a few reads, so the
    // first re-reads come at once; then the pauses grow up to 32 ms.
    if (++busy_reads > kImmediateBusyReads) {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(32));
    }
  }
}

TransmitStatus SdCommandFile::transceive(Bytes command, MutableBytes response,
                                         std::size_t& length) {
  const TransmitStatus status = exchange(command, response, length);
  protocol::secure_zero(
      MutableBytes(fragment_.get(), sd::kFragmentSize));  // responses carry secrets too
  return status;
}

TransmitStatus SdCommandFile::exchange(Bytes command, MutableBytes response, std::size_t& length) {
  length = 0;
  if (fd_ < 0) return TransmitStatus::gone;
  const std::uint32_t sequence = ++sequence_;
  TransmitStatus status = write_command(sequence, command);
  SdFragment fragment;
  if (status == TransmitStatus::ok) status = read_fragment(0, sequence, fragment);
  if (status != TransmitStatus::ok) return status;
  const std::size_t total = fragment.total_length, count = fragment.count;
  if (total > response.size() || (!command.empty() && total < 2)) return TransmitStatus::failed;
  std::size_t received = 0;
  for (std::size_t index = 0;;) {
    std::copy(fragment.data.begin(), fragment.data.end(),
              response.begin() + static_cast<std::ptrdiff_t>(received));
    received += fragment.data.size();
    if (++index == count) break;
    status = read_fragment(static_cast<std::uint8_t>(index), sequence, fragment);
    if (status != TransmitStatus::ok || fragment.total_length != total || fragment.count != count) {
      protocol::secure_zero(response.first(received));
      return status == TransmitStatus::ok ? TransmitStatus::failed : status;
    }
  }
  if (received != total) return TransmitStatus::failed;
  length = total;
  return TransmitStatus::ok;
}

std::vector<std::string> mount_points_under(const std::string& mounts, const std::string& root) {
  std::vector<std::string> found;
  std::istringstream lines(mounts);
  std::string line;
  const std::string prefix =
      root.size() > 1 && root.back() == '/' ? root.substr(0, root.size() - 1) : root;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string device, mount_point;
    if (!(fields >> device >> mount_point)) continue;
    mount_point = unescape_mount_path(mount_point);
    if (prefix == "/" || mount_point == prefix || mount_point.rfind(prefix + "/", 0) == 0)
      found.push_back(mount_point);
  }
  return found;
}

}  // namespace certkey::drivers::sdkey
