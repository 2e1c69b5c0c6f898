// certkeyd's configuration: a TOML file (docs/daemon.md, "Configuration"), read with toml++,
// strictly: an unknown key, a wrong type or a value out of range is an error that names the
// file, the line and the key, and the daemon does not start on a half-understood file.
#pragma once
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../core/origin.hpp"

namespace certkey::daemon {

inline constexpr unsigned kDefaultPort = 18456;

struct Limits {
  unsigned max_connections = 128;  // HTTP and unix-socket connections together
  unsigned max_websockets = 32;
  std::chrono::seconds request_timeout{10};  // to send one request's headers and body
  unsigned state_changes_per_minute = 10;    // per origin
};

struct Config {
  unsigned port = kDefaultPort;
  std::vector<Origin> allowed_origins;
  std::vector<Origin> legacy_pin_origins;  // may send PINs in request bodies (off by default)
  std::string pinentry = "pinentry";
  std::chrono::seconds pin_timeout{60};
  std::vector<std::string> trust_anchors;  // PEM files
  std::vector<std::string> intermediates;
  unsigned reminder_days = 30;
  unsigned audit_retention_days = 365;
  // How long a renewal's superseded key and certificate stay in their retired slot after
  // that certificate expired (0: until it expires).
  std::chrono::days superseded_retention{0};
  Limits limits;
  std::chrono::seconds operation_deadline{300};
  std::chrono::seconds shutdown_deadline{10};

  bool allows(const Origin& origin) const;
  bool accepts_pin_from(const Origin& origin) const;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses a configuration file's text; `source` names it in errors. Throws ConfigError.
Config parse_config(std::string_view text, const std::string& source);
// Reads and parses a file. Throws ConfigError.
Config load_config(const std::string& path);
// The file to read when none is given: $XDG_CONFIG_HOME/certkey/certkeyd.toml (or
// ~/.config/...), then /etc/certkey/certkeyd.toml; nothing when neither exists.
std::optional<std::string> default_config_file();

}  // namespace certkey::daemon
