#include "config.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#define TOML_EXCEPTIONS 1
#include <toml++/toml.h>

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxConfigSize = 256 * 1024;
constexpr std::size_t kMaxListLength = 256;

// Where a problem is: "FILE:LINE: key".
std::string at(const std::string& source, const toml::node& node, const std::string& key) {
  const auto& begin = node.source().begin;
  return source + ":" + std::to_string(begin.line) + ": " + key;
}

class Reader {
 public:
  Reader(const toml::table& root, const std::string& source) : root_(root), source_(source) {}

  // Every key must be known: a misspelt option must not be silently ignored.
  void only(const toml::table& table, const std::string& prefix, std::set<std::string> keys) {
    for (const auto& [key, node] : table) {
      const std::string name(key.str());
      if (!keys.count(name))
        throw ConfigError(at(source_, node, prefix + name) + " is not a certkeyd setting");
    }
  }

  const toml::table* table(const std::string& name) {
    const toml::node* node = root_.get(name);
    if (!node) return nullptr;
    if (!node->is_table())
      throw ConfigError(at(source_, *node, name) + " must be a table ([" + name + "])");
    return node->as_table();
  }

  template <typename Int>
  void integer(const toml::table* table, const std::string& prefix, const std::string& key,
               Int& out, long long min, long long max) {
    const toml::node* node = table ? table->get(key) : nullptr;
    if (!node) return;
    // Only an integer node is read as one: toml++ converts a float by casting, which is
    // undefined for values out of range (found by fuzz.daemon_config).
    const std::optional<long long> value =
        node->is_integer() ? std::optional<long long>(node->as_integer()->get()) : std::nullopt;
    if (!value || *value < min || *value > max) {
      throw ConfigError(at(source_, *node, prefix + key) + " must be a whole number from " +
                        std::to_string(min) + " to " + std::to_string(max));
    }
    out = static_cast<Int>(*value);
  }

  void seconds(const toml::table* table, const std::string& prefix, const std::string& key,
               std::chrono::seconds& out, long long min, long long max) {
    long long value = out.count();
    integer(table, prefix, key, value, min, max);
    out = std::chrono::seconds(value);
  }

  void string(const toml::table* table, const std::string& prefix, const std::string& key,
              std::string& out) {
    const toml::node* node = table ? table->get(key) : nullptr;
    if (!node) return;
    if (!node->is_string() || node->as_string()->get().empty()) {
      throw ConfigError(at(source_, *node, prefix + key) + " must be a non-empty string");
    }
    out = node->as_string()->get();
  }

  std::vector<std::string> strings(const toml::table* table, const std::string& prefix,
                                   const std::string& key) {
    std::vector<std::string> out;
    const toml::node* node = table ? table->get(key) : nullptr;
    if (!node) return out;
    const toml::array* array = node->as_array();
    if (!array || array->size() > kMaxListLength) {
      throw ConfigError(at(source_, *node, prefix + key) + " must be a list of at most " +
                        std::to_string(kMaxListLength) + " strings");
    }
    for (const toml::node& item : *array) {
      if (!item.is_string())
        throw ConfigError(at(source_, item, prefix + key) + " must hold strings only");
      out.push_back(item.as_string()->get());
    }
    return out;
  }

  std::vector<Origin> origins(const toml::table* table, const std::string& prefix,
                              const std::string& key) {
    std::vector<Origin> out;
    const toml::node* node = table ? table->get(key) : nullptr;
    for (const std::string& text : strings(table, prefix, key)) {
      const std::optional<Origin> origin = Origin::parse(text);
      // Exactly as a browser sends it, so that the allowlist compares what it shows.
      if (!origin || origin->text() != text) {
        throw ConfigError(at(source_, *node, prefix + key) + ": \"" + text +
                          "\" is not an origin as browsers send it (https://host[:port], no path; "
                          "http only for localhost)");
      }
      out.push_back(*origin);
    }
    return out;
  }

 private:
  const toml::table& root_;
  const std::string& source_;
};

}  // namespace

bool Config::allows(const Origin& origin) const {
  return std::find(allowed_origins.begin(), allowed_origins.end(), origin) != allowed_origins.end();
}

bool Config::accepts_pin_from(const Origin& origin) const {
  return std::find(legacy_pin_origins.begin(), legacy_pin_origins.end(), origin) !=
         legacy_pin_origins.end();
}

Config parse_config(std::string_view text, const std::string& source) {
  if (text.size() > kMaxConfigSize)
    throw ConfigError(source + ": larger than " + std::to_string(kMaxConfigSize) + " bytes");
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(source + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()));
  }
  Config c;
  Reader r(root, source);
  r.only(
      root, "",
      {"port", "allowed_origins", "pin", "trust", "reminders", "retention", "limits", "deadlines"});
  r.integer(&root, "", "port", c.port, 0, 65535);
  c.allowed_origins = r.origins(&root, "", "allowed_origins");

  const toml::table* pin = r.table("pin");
  if (pin) r.only(*pin, "pin.", {"program", "timeout_seconds", "legacy_origins"});
  r.string(pin, "pin.", "program", c.pinentry);
  r.seconds(pin, "pin.", "timeout_seconds", c.pin_timeout, 1, 3600);
  c.legacy_pin_origins = r.origins(pin, "pin.", "legacy_origins");
  for (const Origin& o : c.legacy_pin_origins) {
    if (!c.allows(o)) {
      throw ConfigError(at(source, *pin->get("legacy_origins"), "pin.legacy_origins") + ": " +
                        o.text() + " is not in allowed_origins");
    }
  }

  const toml::table* trust = r.table("trust");
  if (trust) r.only(*trust, "trust.", {"anchors", "intermediates"});
  c.trust_anchors = r.strings(trust, "trust.", "anchors");
  c.intermediates = r.strings(trust, "trust.", "intermediates");

  const toml::table* reminders = r.table("reminders");
  if (reminders) r.only(*reminders, "reminders.", {"days_before_expiry"});
  r.integer(reminders, "reminders.", "days_before_expiry", c.reminder_days, 1, 365);

  const toml::table* retention = r.table("retention");
  if (retention) r.only(*retention, "retention.", {"audit_days", "superseded_days"});
  r.integer(retention, "retention.", "audit_days", c.audit_retention_days, 1, 36500);
  unsigned superseded_days = 0;
  r.integer(retention, "retention.", "superseded_days", superseded_days, 0, 36500);
  c.superseded_retention = std::chrono::days(superseded_days);

  const toml::table* limits = r.table("limits");
  if (limits) {
    r.only(*limits, "limits.",
           {"max_connections", "max_websockets", "request_timeout_seconds",
            "state_changes_per_minute"});
  }
  r.integer(limits, "limits.", "max_connections", c.limits.max_connections, 4, 100000);
  r.integer(limits, "limits.", "max_websockets", c.limits.max_websockets, 1, 10000);
  r.seconds(limits, "limits.", "request_timeout_seconds", c.limits.request_timeout, 1, 300);
  r.integer(limits, "limits.", "state_changes_per_minute", c.limits.state_changes_per_minute, 1,
            10000);

  const toml::table* deadlines = r.table("deadlines");
  if (deadlines) r.only(*deadlines, "deadlines.", {"operation_seconds", "shutdown_seconds"});
  r.seconds(deadlines, "deadlines.", "operation_seconds", c.operation_deadline, 1, 3600);
  r.seconds(deadlines, "deadlines.", "shutdown_seconds", c.shutdown_deadline, 1, 300);
  return c;
}

Config load_config(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw ConfigError(path + ": cannot be read");
  std::string text;
  text.resize(kMaxConfigSize + 1);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  return parse_config(text, path);
}

std::optional<std::string> default_config_file() {
  std::string user;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    user = std::string(xdg) + "/certkey/certkeyd.toml";
  } else if (const char* home = std::getenv("HOME"); home && *home) {
    user = std::string(home) + "/.config/certkey/certkeyd.toml";
  }
  std::error_code ec;
  if (!user.empty() && std::filesystem::exists(user, ec)) return user;
  if (std::filesystem::exists("/etc/certkey/certkeyd.toml", ec))
    return "/etc/certkey/certkeyd.toml";
  return std::nullopt;
}

}  // namespace certkey::daemon
