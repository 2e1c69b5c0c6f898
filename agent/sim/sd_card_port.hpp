// An SD KEY token: the card's file system, with the command file CERTKEY.CMD in its root,
// served through FUSE so that the host driver (drivers/sdkey) does real, unbuffered file
// I/O. Inserting the card mounts it; pulling it unmounts it.
//
// Threads: the run loop answers the file system's requests; a worker runs the token, so
// that reads during a slow command see the busy marker, as on a real card.
#pragma once
#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "../transport/sd_file_channel.hpp"
#include "sim_token.hpp"
#include "token_port.hpp"

namespace certkey::agent::sim {

class SdCardPort final : public TokenPort {
 public:
  SdCardPort(SimToken& token, std::string mount_point);
  ~SdCardPort() override;

  void add_poll_fds(std::vector<pollfd>& fds) override;
  void on_ready(const pollfd& ready) override;
  bool insert(std::string& error) override;
  void remove() override;
  bool inserted() const override { return session_ != nullptr; }
  std::string stats() const override;
  bool arm_tear(std::uint8_t ins) override;

  // The file system's handlers (userdata: the port).
  void lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void getattr(fuse_req_t req, fuse_ino_t ino);
  void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void read(fuse_req_t req, std::size_t size, off_t offset);
  void write(fuse_req_t req, const char* data, std::size_t size, off_t offset);
  void readdir(fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t offset);

 private:
  void run_worker();
  void wait_for_host_poll();
  static void on_progress(void* self);

  SimToken& token_;
  std::string mount_point_;
  fuse_session* session_ = nullptr;
  fuse_buf request_{};
  bool pull_after_reply_ = false;  // a torn read was answered: the card goes next

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable changed_;
  transport::SdFileChannel channel_;
  bool mounted_ = false;
  bool job_ = false;  // the worker has a command to run
  bool stopping_ = false;
  std::uint64_t apdus_ = 0;
  std::uint64_t busy_reads_ = 0;
  std::uint64_t command_busy_reads_ = 0;  // of the pending command
  int tear_ins_ = -1;  // armed: tear the response to the next command with this INS
  bool tear_this_response_ = false;
  std::uint8_t response_[protocol::kMaxResponseApdu] = {};  // the worker's
  std::thread worker_;
};

}  // namespace certkey::agent::sim
