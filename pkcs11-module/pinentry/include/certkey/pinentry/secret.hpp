// A secret (a PIN or a PUK) in fixed storage that is wiped when the secret goes away or is
// moved from (STYLE rule 9). Fixed, not a std::string: moving a short string copies its
// characters and leaves them behind in the source, unwiped.
#pragma once
#include <array>
#include <cstddef>
#include <string_view>

namespace certkey::pinentry {

class Secret {
 public:
  static constexpr std::size_t kCapacity = 1024;  // an Assuan line holds at most 1000 bytes

  Secret() = default;
  // Keeps the first kCapacity bytes of `text`.
  explicit Secret(std::string_view text);
  ~Secret() { wipe(); }
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;

  const char* data() const { return bytes_.data(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {bytes_.data(), size_}; }
  void wipe();

 private:
  std::array<char, kCapacity> bytes_{};
  std::size_t size_ = 0;
};

}  // namespace certkey::pinentry
