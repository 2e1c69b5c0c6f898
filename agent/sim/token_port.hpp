// How one simulated token reaches the host: the medium's transport, seen from the token.
// The simulator's run loop polls every port's descriptors and lets the port serve them.
#pragma once
#include <poll.h>

#include <cstdint>
#include <string>
#include <vector>

namespace certkey::agent::sim {

// A fault the control socket arms for one later APDU (docs/simulator.md, "Faults").
struct Fault {
  enum class Kind { none, fail, drop, delay, corrupt, pull };
  Kind kind = Kind::none;
  std::uint64_t countdown = 0;  // the APDU it strikes: 1 is the next one
};

class TokenPort {
 public:
  virtual ~TokenPort() = default;
  // Called before every poll. True while the port needs another round soon (a vpcd reader
  // that is not listening yet).
  virtual bool tick() { return false; }
  virtual void add_poll_fds(std::vector<pollfd>& fds) = 0;
  virtual void on_ready(const pollfd& ready) = 0;
  // Insertion and removal at run time (the control socket's insert and remove).
  virtual bool insert(std::string& error) = 0;
  virtual void remove() = 0;
  virtual bool inserted() const = 0;
  // "apdus=N" and whatever else the medium counts.
  virtual std::string stats() const = 0;
  // Arms a torn response: the next response to a command with this INS is cut off halfway
  // through the host's read and the card is pulled. Only an SD KEY can be torn like this.
  virtual bool arm_tear(std::uint8_t /*ins*/) { return false; }
  // Arms (or, with Kind::none, clears) a fault. Only the vpcd media (smart card, SIM) take them.
  virtual bool arm_fault(const Fault& /*fault*/) { return false; }
};

}  // namespace certkey::agent::sim
