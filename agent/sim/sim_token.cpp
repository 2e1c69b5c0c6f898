#include "sim_token.hpp"

namespace certkey::agent::sim {

SimToken::SimToken(const std::string& flash_path, const piv::Identity& identity,
                   std::size_t flash_size, hal::Clock* clock)
    : flash_(flash_path, flash_size),
      store_(flash_),
      piv_(hal::Board{flash_, crypto_, random_, clock ? *clock : steady_clock_}, store_, identity),
      applets_{&piv_},
      token_(applets_, 1) {}

bool SimToken::boot() {
  return flash_.ok() && store_.mount() == StoreResult::ok && piv_.install() == protocol::Sw::ok;
}

std::size_t SimToken::transmit(Bytes command, MutableBytes response) {
  return token_.process(command, response);
}

}  // namespace certkey::agent::sim
