// One token as the simulator runs it: the firmware core wired to the host HAL, with its
// flash in a file. The same composition backs the unit tests, the tearing harness and the
// fuzz target, so they all exercise the firmware the simulator ships.
#pragma once
#include <memory>
#include <string>

#include "../applets/piv/piv_applet.hpp"
#include "../applets/usim/usim_applet.hpp"
#include "../core/token.hpp"
#include "../hal-host/file_flash.hpp"
#include "../hal-host/openssl_crypto.hpp"
#include "../hal-host/os_services.hpp"

namespace certkey::agent::sim {

class SimToken {
 public:
  // `clock` may be a test clock; by default the token uses the host's steady clock.
  SimToken(const std::string& flash_path, const piv::Identity& identity,
           std::size_t flash_size = host::FileFlash::kDefaultSize, hal::Clock* clock = nullptr);

  // Mounts storage and personalises a new token. False if the flash is unusable.
  bool boot();
  // One command APDU in, one response APDU out (data + SW).
  std::size_t transmit(Bytes command, MutableBytes response);
  void power_off() { token_.power_off(); }
  // Slow operations report progress through this (see OpenSslCrypto::set_progress).
  void set_progress(host::OpenSslCrypto::Progress progress, void* context) {
    crypto_.set_progress(progress, context);
  }
  protocol::Medium medium() const { return medium_; }

  // The answer-to-reset of this token's medium (a SIM answers like a UICC, with T=0).
  Bytes atr() const;
  host::FileFlash& flash() { return flash_; }
  const RecordStore& store() const { return store_; }

 private:
  host::FileFlash flash_;
  host::OpenSslCrypto crypto_;
  host::OsRandom random_;
  host::SteadyClock steady_clock_;
  RecordStore store_;
  piv::PivApplet piv_;
  usim::UsimApplet usim_;
  protocol::Medium medium_;
  // The basic channel's default application comes first: the USIM on a SIM, else PIV.
  Applet* applets_[2];
  Token token_;
};

}  // namespace certkey::agent::sim
