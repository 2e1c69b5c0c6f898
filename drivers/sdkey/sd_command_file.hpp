// The host's side of the SD KEY command file (docs/sdkey.md): writes a command block to
// CERTKEY.CMD and reads the response fragments back, with O_DIRECT and 512-byte aligned
// buffers so that every read and write reaches the card rather than the page cache.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>

#include "../ifd/ifd_reader.hpp"
#include <certkey/protocol/sd_framing.hpp>

namespace certkey::drivers::sdkey {

class SdCommandFile {
 public:
  // How long the card may stay busy with one command (RSA-2048 generation takes seconds).
  static constexpr int kBusyTimeoutMs = 120000;
  // Busy markers read again at once before the driver starts to pause between reads.
  static constexpr int kImmediateBusyReads = 8;
  // Reads of a fragment that fails its checks before the exchange counts as torn.
  static constexpr int kFragmentReads = 3;

  explicit SdCommandFile(std::string path);
  ~SdCommandFile();
  SdCommandFile(const SdCommandFile&) = delete;
  SdCommandFile& operator=(const SdCommandFile&) = delete;

  // Opens the command file itself, never a symbolic link, and only if it is a regular file
  // of the format's size on the device `mount_device` (the card's file system).
  bool open(dev_t mount_device);
  void close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // An empty command resets the card.
  TransmitStatus transceive(Bytes command, MutableBytes response, std::size_t& length);

 private:
  struct FreeAligned {
    void operator()(std::uint8_t* p) const;
  };
  using AlignedBlocks = std::unique_ptr<std::uint8_t, FreeAligned>;

  TransmitStatus exchange(Bytes command, MutableBytes response, std::size_t& length);
  TransmitStatus write_command(std::uint32_t sequence, Bytes command);
  // Reads fragment `index` of the answer to `sequence`; fragment 0 waits out the busy marker.
  TransmitStatus read_fragment(std::uint8_t index, std::uint32_t sequence,
                               protocol::SdFragment& out);

  std::string path_;
  int fd_ = -1;
  std::uint32_t sequence_ = 0;
  AlignedBlocks command_;
  AlignedBlocks fragment_;
};

// Mount points at or below `root` in a /proc/self/mounts text, in the order listed.
std::vector<std::string> mount_points_under(const std::string& mounts, const std::string& root);

}  // namespace certkey::drivers::sdkey
