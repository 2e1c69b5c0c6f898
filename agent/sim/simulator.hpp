// certkey-sim: hosts simulated tokens, each with a state directory, each reaching pcscd
// through its medium's transport (a vpcd reader, a USB KEY socket, an SD card's FUSE
// mount), and insertable/removable at run time through a control socket (docs/simulator.md).
#pragma once
#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <vector>

#include "sim_token.hpp"
#include "token_port.hpp"

namespace certkey::agent::sim {

struct TokenSpec {
  std::string name;
  protocol::Medium medium = protocol::Medium::smartcard;
  // smart card and SIM: the vpcd reader's address
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  // USB KEY: the socket standing in for its USB link; SD KEY: where the card is mounted
  std::string path;
  bool inserted = true;
};

class Simulator {
 public:
  Simulator(std::string state_dir, std::string control_path);
  ~Simulator();

  // Creates or reopens each token's state. Writes a message to `error` on failure.
  bool add_token(const TokenSpec& spec, std::string& error);
  bool open_control(std::string& error);
  // Runs until SIGINT/SIGTERM or a "shutdown" control command.
  int run();

 private:
  struct Slot {
    std::string name;
    std::unique_ptr<SimToken> token;
    std::unique_ptr<TokenPort> port;
  };

  void serve_control_client(int fd);
  std::string execute(const std::string& line);
  std::string arm_fault(Slot& slot, std::istream& in);
  Slot* find(const std::string& name);

  std::string state_dir_;
  std::string control_path_;
  int control_fd_ = -1;
  bool stop_ = false;
  std::vector<Slot> slots_;
};

}  // namespace certkey::agent::sim
