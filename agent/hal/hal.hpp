// Everything a board provides to the token core, passed in at construction.
#pragma once
#include "clock.hpp"
#include "crypto.hpp"
#include "flash.hpp"
#include "random.hpp"

namespace certkey::agent::hal {

struct Board {
  Flash& flash;
  Crypto& crypto;
  Random& random;
  Clock& clock;
};

}  // namespace certkey::agent::hal
