#include "os_services.hpp"

#include <openssl/rand.h>

#include <chrono>

namespace certkey::agent::host {

bool OsRandom::fill(MutableBytes out) {
  return out.empty() || RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

std::uint64_t SteadyClock::monotonic_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

}  // namespace certkey::agent::host
