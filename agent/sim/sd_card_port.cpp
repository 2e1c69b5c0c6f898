#include "sd_card_port.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace certkey::agent::sim {
namespace {

namespace sd = protocol::sd;

constexpr fuse_ino_t kRootInode = FUSE_ROOT_ID;
constexpr fuse_ino_t kCommandFileInode = 2;
// The largest read the port answers: a whole command area, or one response fragment.
constexpr std::size_t kMaxRead = sd::kCommandArea;

SdCardPort& port_of(fuse_req_t req) { return *static_cast<SdCardPort*>(fuse_req_userdata(req)); }

struct stat attributes_of(fuse_ino_t ino) {
  struct stat st {};
  st.st_ino = ino;
  if (ino == kRootInode) {
    st.st_mode = S_IFDIR | 0700;
    st.st_nlink = 2;
  } else {
    st.st_mode = S_IFREG | 0600;
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(sd::kFileSize);
  }
  return st;
}

const fuse_lowlevel_ops kOperations = [] {
  fuse_lowlevel_ops ops{};
  ops.lookup = [](fuse_req_t req, fuse_ino_t parent, const char* name) {
    port_of(req).lookup(req, parent, name);
  };
  ops.getattr = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    port_of(req).getattr(req, ino);
  };
  ops.open = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    port_of(req).open(req, ino, fi);
  };
  ops.read = [](fuse_req_t req, fuse_ino_t, std::size_t size, off_t offset, fuse_file_info*) {
    port_of(req).read(req, size, offset);
  };
  ops.write = [](fuse_req_t req, fuse_ino_t, const char* data, std::size_t size, off_t offset,
                 fuse_file_info*) { port_of(req).write(req, data, size, offset); };
  ops.readdir = [](fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t offset,
                   fuse_file_info*) { port_of(req).readdir(req, ino, size, offset); };
  return ops;
}();

}  // namespace

SdCardPort::SdCardPort(SimToken& token, std::string mount_point)
    : token_(token), mount_point_(std::move(mount_point)) {
  worker_ = std::thread([this] { run_worker(); });
}

SdCardPort::~SdCardPort() {
  remove();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  worker_.join();
  std::free(request_.mem);
}

bool SdCardPort::insert(std::string& error) {
  if (session_) return true;
  ::mkdir(mount_point_.c_str(), 0700);
  const char* argv[] = {"certkey-sim", "-o", "fsname=certkey-sdkey,subtype=certkey"};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  session_ = fuse_session_new(&args, &kOperations, sizeof kOperations, this);
  if (!session_ || fuse_session_mount(session_, mount_point_.c_str()) != 0) {
    if (session_) fuse_session_destroy(session_);
    session_ = nullptr;
    return error = "cannot mount the SD card at " + mount_point_, false;
  }
  std::lock_guard lock(mutex_);
  mounted_ = true;
  return true;
}

void SdCardPort::remove() {
  if (!session_) return;
  {
    // The card is gone: a command still running finishes inside the token (its storage is
    // atomic), but nobody will read its response.
    std::unique_lock lock(mutex_);
    mounted_ = false;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !job_; });
    channel_.clear();
  }
  fuse_session_unmount(session_);
  fuse_session_destroy(session_);
  session_ = nullptr;
  token_.power_off();
}

void SdCardPort::add_poll_fds(std::vector<pollfd>& fds) {
  if (session_) fds.push_back({fuse_session_fd(session_), POLLIN, 0});
}

void SdCardPort::on_ready(const pollfd&) {
  const int n = fuse_session_receive_buf(session_, &request_);
  if (n == -EINTR || n == -EAGAIN) return;
  if (n <= 0) return remove();  // unmounted from outside
  fuse_session_process_buf(session_, &request_);
  // A WRITE request holds the command, PIN included.
  if (request_.mem)
    secure_zero(
        MutableBytes(static_cast<std::uint8_t*>(request_.mem), static_cast<std::size_t>(n)));
  if (pull_after_reply_) {
    pull_after_reply_ = false;
    remove();
  }
}

void SdCardPort::lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != kRootInode || std::strcmp(name, sd::kCommandFileName) != 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param entry{};
  entry.ino = kCommandFileInode;
  entry.attr = attributes_of(kCommandFileInode);
  fuse_reply_entry(req, &entry);
}

void SdCardPort::getattr(fuse_req_t req, fuse_ino_t ino) {
  if (ino != kRootInode && ino != kCommandFileInode) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  struct stat st = attributes_of(ino);
  fuse_reply_attr(req, &st, 0);
}

void SdCardPort::open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kCommandFileInode) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  // Every read and write must reach the card: no page cache in between.
  fi->direct_io = 1;
  fi->keep_cache = 0;
  fuse_reply_open(req, fi);
}

void SdCardPort::read(fuse_req_t req, std::size_t size, off_t offset) {
  std::uint8_t data[kMaxRead];
  if (size > sizeof data) size = sizeof data;
  std::unique_lock lock(mutex_);
  channel_.read(static_cast<std::size_t>(offset), MutableBytes(data, size));
  const bool first_fragment = static_cast<std::size_t>(offset) == sd::kResponseOffset;
  if (first_fragment && channel_.pending()) {
    ++busy_reads_;
    ++command_busy_reads_;
    changed_.notify_all();
  } else if (first_fragment && tear_this_response_ && size >= sd::kResponseHeader) {
    // Pulled mid-read: the host gets the first half of what the card sent, and erased
    // flash (FF) after that; then the card is gone.
    const std::size_t sent = (sd::kResponseHeader + load_be16(data + 18)) / 2;
    for (std::size_t i = sent; i < size; ++i) data[i] = 0xFF;
    tear_this_response_ = false;
    pull_after_reply_ = true;
  }
  lock.unlock();
  fuse_reply_buf(req, reinterpret_cast<const char*>(data), size);
  secure_zero(MutableBytes(data, size));
}

void SdCardPort::write(fuse_req_t req, const char* data, std::size_t size, off_t offset) {
  std::unique_lock lock(mutex_);
  if (channel_.pending()) {
    lock.unlock();
    fuse_reply_err(req, EBUSY);  // one command at a time
    return;
  }
  Bytes written(reinterpret_cast<const std::uint8_t*>(data), size);
  if (channel_.write(static_cast<std::size_t>(offset), written) !=
      transport::SdFileChannel::Event::none) {
    const Bytes apdu = channel_.apdu();
    if (!apdu.empty()) ++apdus_;
    tear_this_response_ = tear_ins_ >= 0 && apdu.size() >= 2 && apdu[1] == tear_ins_;
    if (tear_this_response_) tear_ins_ = -1;
    command_busy_reads_ = 0;
    job_ = true;
    changed_.notify_all();
  }
  lock.unlock();
  fuse_reply_write(req, size);
}

void SdCardPort::readdir(fuse_req_t req, fuse_ino_t ino, std::size_t size, off_t offset) {
  if (ino != kRootInode) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  char buffer[512];
  std::size_t used = 0;
  const char* names[] = {".", "..", sd::kCommandFileName};
  const fuse_ino_t inodes[] = {kRootInode, kRootInode, kCommandFileInode};
  for (off_t i = offset; i < 3; ++i) {
    struct stat st = attributes_of(inodes[i]);
    const std::size_t room = std::min(size, sizeof buffer) - used;
    const std::size_t need = fuse_add_direntry(req, buffer + used, room, names[i], &st, i + 1);
    if (need > room) break;
    used += need;
  }
  fuse_reply_buf(req, buffer, used);
}

void SdCardPort::run_worker() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return job_ || stopping_; });
    if (stopping_) return;
    const Bytes apdu = channel_.apdu();  // stays put while the command is pending
    lock.unlock();
    std::size_t length = 0;
    if (apdu.empty()) {
      token_.power_off();  // the empty command: reset
    } else {
      token_.set_progress(on_progress, this);
      length = token_.transmit(apdu, MutableBytes(response_, sizeof response_));
      token_.set_progress(nullptr, nullptr);
    }
    lock.lock();
    if (mounted_) channel_.complete(Bytes(response_, length));
    secure_zero(MutableBytes(response_, length));
    job_ = false;
    changed_.notify_all();
  }
}

// A slow command holds on until the host has seen the busy marker once: on a real card the
// host's first poll always comes before an RSA key is ready, and this makes it so here too,
// whatever the scheduler does.
void SdCardPort::on_progress(void* self) { static_cast<SdCardPort*>(self)->wait_for_host_poll(); }

void SdCardPort::wait_for_host_poll() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return command_busy_reads_ > 0 || !mounted_ || stopping_; });
}

bool SdCardPort::arm_tear(std::uint8_t ins) {
  std::lock_guard lock(mutex_);
  tear_ins_ = ins;
  return true;
}

std::string SdCardPort::stats() const {
  std::lock_guard lock(mutex_);
  return "apdus=" + std::to_string(apdus_) + " busy=" + std::to_string(busy_reads_);
}

}  // namespace certkey::agent::sim
