// libFuzzer target for the PKCS#11 module's object cache file (pkcs11-module/src/object_cache.hpp,
// docs/pkcs11.md 7.1): any text through decode_cache, which another process of the user can
// write. Invariants: no crash, no hang; what it accepts is within a token's bounds and is
// exactly what encode_cache writes for it.
#include <string>

#include "object_cache.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::optional<certkey::p11::CachedObjects> objects = certkey::p11::decode_cache(text);
  if (!objects) return 0;
  if (objects->slots.size() > 25 || certkey::p11::encode_cache(*objects) != text) __builtin_trap();
  for (const auto& slot : objects->slots) {
    if (slot.certificate.size() > 4096) __builtin_trap();
  }
  return 0;
}
