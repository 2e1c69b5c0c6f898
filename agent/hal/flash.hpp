// Non-volatile storage as a NOR-like flash: reads anywhere, program only clears bits of
// erased (0xFF) bytes, erase works on whole units. A board provides one; hal-host provides a
// file-backed one with power-cut and I/O-error injection for the tearing tests.
#pragma once
#include <cstddef>

#include "../core/bytes.hpp"

namespace certkey::agent::hal {

enum class FlashResult : std::uint8_t { ok, io_error, power_lost };

class Flash {
 public:
  virtual std::size_t size() const = 0;
  virtual std::size_t erase_unit() const = 0;
  virtual FlashResult read(std::size_t offset, MutableBytes out) = 0;
  virtual FlashResult program(std::size_t offset, Bytes data) = 0;
  virtual FlashResult erase(std::size_t unit_offset) = 0;

 protected:
  ~Flash() = default;
};

}  // namespace certkey::agent::hal
