#pragma once
#include "../core/bytes.hpp"

namespace certkey::agent::hal {

// A cryptographically secure random source (a TRNG on a board, the OS on a host).
class Random {
 public:
  virtual bool fill(MutableBytes out) = 0;

 protected:
  ~Random() = default;
};

}  // namespace certkey::agent::hal
