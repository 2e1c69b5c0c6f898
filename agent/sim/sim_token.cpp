#include "sim_token.hpp"

#include <certkey/protocol/atr.hpp>

namespace certkey::agent::sim {

SimToken::SimToken(const std::string& flash_path, const piv::Identity& identity,
                   std::size_t flash_size, hal::Clock* clock)
    : flash_(flash_path, flash_size),
      store_(flash_),
      piv_(hal::Board{flash_, crypto_, random_, clock ? *clock : steady_clock_}, store_, identity),
      medium_(identity.medium),
      applets_{medium_ == protocol::Medium::sim ? static_cast<Applet*>(&usim_) : &piv_,
               medium_ == protocol::Medium::sim ? static_cast<Applet*>(&piv_) : &usim_},
      token_(applets_, medium_ == protocol::Medium::sim ? 2 : 1) {}

Bytes SimToken::atr() const {
  if (medium_ == protocol::Medium::sim)
    return Bytes(protocol::kSimAtr.data(), protocol::kSimAtr.size());
  return Bytes(protocol::kTokenAtr.data(), protocol::kTokenAtr.size());
}

bool SimToken::boot() {
  return flash_.ok() && store_.mount() == StoreResult::ok && piv_.install() == protocol::Sw::ok;
}

std::size_t SimToken::transmit(Bytes command, MutableBytes response) {
  return token_.process(command, response);
}

}  // namespace certkey::agent::sim
