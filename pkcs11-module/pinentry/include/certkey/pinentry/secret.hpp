// A secret (a PIN or a PUK) that wipes its bytes when it goes away. Move-only, so no copy
// is ever left behind unwiped (STYLE rule 9).
#pragma once
#include <string>
#include <string_view>

namespace certkey::pinentry {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string_view text) { value_.assign(text.data(), text.size()); }
  ~Secret() { wipe(); }
  Secret(Secret&& other) noexcept { value_.swap(other.value_); }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      wipe();
      value_.swap(other.value_);
    }
    return *this;
  }
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;

  const char* data() const { return value_.data(); }
  std::size_t size() const { return value_.size(); }
  bool empty() const { return value_.empty(); }
  std::string_view view() const { return value_; }
  void wipe();

 private:
  std::string value_;
};

}  // namespace certkey::pinentry
