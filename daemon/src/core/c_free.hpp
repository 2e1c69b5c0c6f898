// Owning handles for the objects of C libraries (OpenSSL): std::unique_ptr with the library's
// own free function as the deleter, so that every early return and exception frees them.
#pragma once
#include <memory>

namespace certkey::daemon {

template <typename T, void (*F)(T*)>
struct Free {
  void operator()(T* p) const { F(p); }
};

}  // namespace certkey::daemon
