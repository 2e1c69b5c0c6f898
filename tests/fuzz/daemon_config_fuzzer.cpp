// libFuzzer target for certkeyd's configuration file (config/config.*, docs/daemon.md
// "Configuration"): any text through toml++ and the strict reader.
// Invariants: no crash, no hang, nothing but ConfigError escapes; a configuration that is
// accepted holds only origins as browsers send them, legacy PIN origins among the allowed
// ones, and values within their documented ranges.
#include <string>

#include "config/config.hpp"

using namespace certkey::daemon;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Config c;
  try {
    c = parse_config(text, "fuzz.toml");
  } catch (const ConfigError&) {
    return 0;
  }
  for (const Origin& o : c.allowed_origins) {
    if (Origin::parse(o.text()) != o) __builtin_trap();
  }
  for (const Origin& o : c.legacy_pin_origins) {
    if (!c.allows(o)) __builtin_trap();
  }
  if (c.port > 65535 || c.pinentry.empty() || c.limits.max_connections < 4 ||
      c.limits.max_websockets < 1 || c.limits.state_changes_per_minute < 1 ||
      c.pin_timeout.count() < 1 || c.operation_deadline.count() < 1 ||
      c.shutdown_deadline.count() < 1 || c.limits.request_timeout.count() < 1) {
    __builtin_trap();
  }
  return 0;
}
