// Random numbers and time from the host operating system.
#pragma once
#include "../hal/clock.hpp"
#include "../hal/random.hpp"

namespace certkey::agent::host {

class OsRandom final : public hal::Random {
 public:
  bool fill(MutableBytes out) override;
};

class SteadyClock final : public hal::Clock {
 public:
  std::uint64_t monotonic_ms() override;
};

}  // namespace certkey::agent::host
