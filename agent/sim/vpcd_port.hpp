// A smart card or SIM token in a vsmartcard vpcd reader: the token connects to the reader
// driver inside pcscd over TCP (transport/vpcd_link.hpp).
#pragma once
#include "../transport/vpcd_link.hpp"
#include "sim_token.hpp"
#include "token_port.hpp"

namespace certkey::agent::sim {

class VpcdPort final : public TokenPort {
 public:
  VpcdPort(SimToken& token, std::string host, std::uint16_t port)
      : token_(token), link_(std::move(host), port) {}

  bool tick() override;
  void add_poll_fds(std::vector<pollfd>& fds) override;
  void on_ready(const pollfd& ready) override;
  bool insert(std::string& error) override;
  void remove() override;
  bool inserted() const override { return inserted_; }
  std::string stats() const override { return "apdus=" + std::to_string(apdus_); }
  bool arm_fault(const Fault& fault) override {
    fault_ = fault;
    return true;
  }

 private:
  SimToken& token_;
  transport::VpcdLink link_;
  bool inserted_ = false;
  std::uint64_t apdus_ = 0;
  Fault fault_;
  // The armed fault when this APDU is the one it strikes (and disarms it), else Kind::none.
  Fault::Kind fault_now();
};

}  // namespace certkey::agent::sim
