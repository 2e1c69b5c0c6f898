#include "retry_counter.hpp"

namespace certkey::agent {

static_assert(sizeof(RetryCounter) == 2, "storage image is two bytes");

bool read_counter(const RecordStore& store, std::uint16_t id, RetryCounter& out) {
  std::uint8_t image[sizeof(RetryCounter)];
  std::size_t length = 0;
  if (store.read(id, MutableBytes(image, sizeof image), length) != StoreResult::ok ||
      length != sizeof image || image[1] > image[0]) {
    return false;
  }
  out = RetryCounter{image[0], image[1]};
  return true;
}

}  // namespace certkey::agent
