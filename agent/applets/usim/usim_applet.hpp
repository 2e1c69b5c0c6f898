// The USIM as a SIM token's basic channel sees it, for the simulator. It answers application
// selection and STATUS (ETSI TS 102 221 11.1.2), which is what a host that shares the SIM
// must leave undisturbed: certkey's hosts open a logical channel for PIV instead of
// selecting away from the USIM. It holds no telecom files; other commands get 6D00.
#pragma once
#include "../../core/applet.hpp"

namespace certkey::agent::usim {

class UsimApplet final : public Applet {
 public:
  Bytes aid() const override;
  Sw select(ResponseWriter& out) override;
  void deselect() override {}
  Sw process(const CommandApdu& command, ResponseWriter& out) override;
  void power_off() override {}

 private:
  void write_fcp(ResponseWriter& out) const;
};

}  // namespace certkey::agent::usim
