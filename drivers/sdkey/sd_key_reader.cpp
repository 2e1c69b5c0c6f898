// The SD KEY reader: DEVICENAME is a directory where cards get mounted (/media, say); a
// card is there while a file system mounted at or below it has CERTKEY.CMD in its root.
#include <sys/stat.h>

#include <certkey/protocol/atr.hpp>
#include <fstream>
#include <sstream>

#include "sd_command_file.hpp"

namespace certkey::drivers::sdkey {
namespace {

std::string read_mounts() {
  std::ifstream in("/proc/self/mounts");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class SdKeyReader final : public IfdReader {
 public:
  explicit SdKeyReader(std::string root) : root_(std::move(root)) {}

  // A card found gone is reported absent before any card is looked for again, so that a
  // swap between two polls still shows as a removal.
  bool present() override {
    if (file_ && !still_mounted()) {
      file_.reset();
      return false;
    }
    return file_ || find_card();
  }

  bool power_up(std::vector<std::uint8_t>& atr) override {
    std::uint8_t none[2];
    std::size_t length = 0;
    if (!present() ||
        exchange(Bytes(), MutableBytes(none, sizeof none), length) != TransmitStatus::ok)
      return false;
    // The secure element's own answer-to-reset never leaves the card; it answers as a
    // certkey token would.
    atr.assign(protocol::kTokenAtr.begin(), protocol::kTokenAtr.end());
    return true;
  }

  void power_down() override {
    std::uint8_t none[2];
    std::size_t length = 0;
    if (file_)
      exchange(Bytes(), MutableBytes(none, sizeof none), length);  // the card forgets its state
  }

  TransmitStatus transmit(Bytes command, MutableBytes response, std::size_t& length) override {
    if (command.empty()) return TransmitStatus::failed;  // the empty command is the reset
    return exchange(command, response, length);
  }

 private:
  TransmitStatus exchange(Bytes command, MutableBytes response, std::size_t& length) {
    if (!file_) return TransmitStatus::gone;
    const TransmitStatus status = file_->transceive(command, response, length);
    if (status == TransmitStatus::gone || (status != TransmitStatus::ok && !still_mounted())) {
      file_.reset();
      return TransmitStatus::gone;
    }
    return status;
  }

  // The open file is still the command file at its path: the card was neither pulled nor
  // replaced by another one.
  bool still_mounted() const {
    struct stat open_file {
    }, at_path{};
    return ::fstat(file_->fd(), &open_file) == 0 && ::stat(file_->path().c_str(), &at_path) == 0 &&
           open_file.st_dev == at_path.st_dev && open_file.st_ino == at_path.st_ino;
  }

  bool find_card() {
    for (const std::string& mount_point : mount_points_under(read_mounts(), root_)) {
      struct stat mount {};
      if (::stat(mount_point.c_str(), &mount) != 0) continue;
      auto file =
          std::make_unique<SdCommandFile>(mount_point + "/" + protocol::sd::kCommandFileName);
      if (!file->open(mount.st_dev)) continue;
      file_ = std::move(file);
      return true;
    }
    return false;
  }

  std::string root_;
  std::unique_ptr<SdCommandFile> file_;
};

}  // namespace
}  // namespace certkey::drivers::sdkey

namespace certkey::drivers {

const char* const kIfdType = "certkey SD KEY";

std::unique_ptr<IfdReader> create_reader(const std::string& device_name) {
  if (device_name.empty() || device_name.front() != '/') return nullptr;  // an absolute directory
  return std::make_unique<sdkey::SdKeyReader>(device_name);
}

}  // namespace certkey::drivers
