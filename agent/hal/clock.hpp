#pragma once
#include <cstdint>

namespace certkey::agent::hal {

// Milliseconds since power-on. Tokens have no battery, so there is no wall-clock time.
class Clock {
 public:
  virtual std::uint64_t monotonic_ms() = 0;

 protected:
  ~Clock() = default;
};

}  // namespace certkey::agent::hal
