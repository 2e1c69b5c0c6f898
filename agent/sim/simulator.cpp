#include "simulator.hpp"

#include "sd_card_port.hpp"
#include "usb_key_port.hpp"
#include "vpcd_port.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <certkey/protocol/atr.hpp>
#include <certkey/protocol/limits.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <cstdlib>
#include <random>
#include <sstream>

namespace certkey::agent::sim {
namespace {

volatile std::sig_atomic_t g_signalled = 0;
void on_signal(int) { g_signalled = 1; }

constexpr int kReconnectPollMs = 50;  // while a reader is not listening yet
constexpr std::size_t kMaxControlLine = 256;

// A token's serial lives beside its flash so that the identity survives restarts; it is
// only used to personalise a blank flash.
bool load_or_create_serial(const std::string& dir, std::uint32_t& serial) {
  std::string path = dir + "/serial";
  std::ifstream in(path);
  if (in >> serial) return true;
  std::random_device rd;
  serial = 10000000u + rd() % 90000000u;
  std::ofstream out(path);
  out << serial << "\n";
  return static_cast<bool>(out);
}

}  // namespace

Simulator::Simulator(std::string state_dir, std::string control_path)
    : state_dir_(std::move(state_dir)), control_path_(std::move(control_path)) {}

Simulator::~Simulator() {
  if (control_fd_ >= 0) {
    ::close(control_fd_);
    ::unlink(control_path_.c_str());
  }
}

bool Simulator::add_token(const TokenSpec& spec, std::string& error) {
  if (find(spec.name)) return error = "duplicate token name " + spec.name, false;
  std::string dir = state_dir_ + "/" + spec.name;
  ::mkdir(state_dir_.c_str(), 0700);
  ::mkdir(dir.c_str(), 0700);
  piv::Identity identity;
  identity.medium = spec.medium;
  if (!load_or_create_serial(dir, identity.serial)) return error = "cannot write " + dir, false;
  Slot slot;
  slot.name = spec.name;
  slot.token = std::make_unique<SimToken>(dir + "/flash.bin", identity);
  if (!slot.token->boot()) return error = "cannot open token state in " + dir, false;
  switch (spec.medium) {
    case protocol::Medium::smartcard:
    case protocol::Medium::sim:
      slot.port = std::make_unique<VpcdPort>(*slot.token, spec.host, spec.port);
      break;
    case protocol::Medium::usb_key:
      slot.port = std::make_unique<UsbKeyPort>(*slot.token, spec.path);
      break;
    case protocol::Medium::sd_key:
      slot.port = std::make_unique<SdCardPort>(*slot.token, spec.path);
      break;
  }
  // A token that cannot be plugged in at start (a socket or mount point that is not usable)
  // is an error now rather than a token that silently never appears.
  if (spec.inserted && !slot.port->insert(error)) return false;
  slots_.push_back(std::move(slot));
  return true;
}

bool Simulator::open_control(std::string& error) {
  if (control_path_.empty()) return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (control_path_.size() >= sizeof addr.sun_path) return error = "control path too long", false;
  std::copy(control_path_.begin(), control_path_.end(), addr.sun_path);
  ::unlink(control_path_.c_str());
  control_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (control_fd_ < 0 ||
      ::bind(control_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(control_path_.c_str(), 0600) != 0 || ::listen(control_fd_, 8) != 0) {
    return error = "cannot listen on " + control_path_, false;
  }
  return true;
}

Simulator::Slot* Simulator::find(const std::string& name) {
  for (Slot& s : slots_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

int Simulator::run() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<pollfd> fds;
  std::vector<TokenPort*> owners;  // the port of each entry in fds; null for the control socket
  while (!stop_ && !g_signalled) {
    bool again_soon = false;
    for (Slot& s : slots_) again_soon |= s.port->tick();
    fds.clear();
    owners.clear();
    if (control_fd_ >= 0) fds.push_back({control_fd_, POLLIN, 0});
    owners.resize(fds.size(), nullptr);
    for (Slot& s : slots_) {
      s.port->add_poll_fds(fds);
      owners.resize(fds.size(), s.port.get());
    }
    int n = ::poll(fds.data(), fds.size(), again_soon ? kReconnectPollMs : -1);
    if (n < 0) continue;  // EINTR: the loop condition sees the signal
    for (std::size_t i = 0; i < fds.size() && !stop_; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      if (!owners[i]) {
        int client = ::accept4(control_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) serve_control_client(client);
        // A control command may have closed descriptors polled in this round.
        break;
      }
      owners[i]->on_ready(fds[i]);
    }
  }
  return 0;
}

void Simulator::serve_control_client(int fd) {
  // One request line, one reply line; a peer that sends nothing is dropped after 2 s.
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string line;
  char c = 0;
  while (line.size() < kMaxControlLine && ::recv(fd, &c, 1, 0) == 1 && c != '\n') line.push_back(c);
  std::string reply = execute(line) + "\n";
  ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
  ::close(fd);
}

namespace {
constexpr std::uint64_t kMaxFaultDistance = 1000000;
}  // namespace

std::string Simulator::execute(const std::string& line) {
  std::istringstream in(line);
  std::string verb, name;
  in >> verb >> name;
  if (verb == "list") {
    std::string out = "ok";
    for (const Slot& s : slots_) {
      out += " " + s.name + (s.port->inserted() ? ":inserted" : ":removed");
    }
    return out;
  }
  if (verb == "shutdown") {
    stop_ = true;
    return "ok";
  }
  if (verb != "insert" && verb != "remove" && verb != "stats" && verb != "tear" &&
      verb != "fault") {
    return "error unknown command '" + verb +
           "' (list, insert, remove, stats, tear, fault, shutdown)";
  }
  Slot* slot = find(name);
  if (!slot) return "error unknown token '" + name + "'";
  if (verb == "insert") {
    std::string error;
    return slot->port->insert(error) ? "ok" : "error " + error;
  }
  if (verb == "remove") {
    slot->port->remove();
    return "ok";
  }
  if (verb == "tear") {
    std::string ins;
    in >> ins;
    char* end = nullptr;
    const unsigned long value = std::strtoul(ins.c_str(), &end, 16);
    if (ins.empty() || *end != '\0' || value > 0xFF)
      return "error tear takes an INS in hex, e.g. 'tear NAME DB'";
    return slot->port->arm_tear(static_cast<std::uint8_t>(value))
               ? "ok"
               : "error only an SD KEY can be torn";
  }
  if (verb == "fault") return arm_fault(*slot, in);
  return "ok " + slot->port->stats();
}

// "fault NAME KIND N" strikes the Nth APDU from now; "fault NAME clear" disarms.
std::string Simulator::arm_fault(Slot& slot, std::istream& in) {
  static constexpr std::pair<const char*, Fault::Kind> kKinds[] = {
      {"fail", Fault::Kind::fail},       {"drop", Fault::Kind::drop}, {"delay", Fault::Kind::delay},
      {"corrupt", Fault::Kind::corrupt}, {"pull", Fault::Kind::pull}, {"clear", Fault::Kind::none}};
  std::string kind_name;
  std::uint64_t n = 0;
  in >> kind_name;
  Fault fault;
  bool known = false;
  for (const auto& [name, kind] : kKinds) {
    if (kind_name == name) {
      fault.kind = kind;
      known = true;
    }
  }
  if (!known) return "error fault takes fail, drop, delay, corrupt, pull or clear";
  if (fault.kind != Fault::Kind::none && (!(in >> n) || n == 0 || n > kMaxFaultDistance)) {
    return "error fault KIND takes N, the APDU it strikes (1: the next, at most 1000000)";
  }
  fault.countdown = n;
  return slot.port->arm_fault(fault) ? "ok" : "error only a smart card or SIM takes faults";
}

}  // namespace certkey::agent::sim
