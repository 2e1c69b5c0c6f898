// certkeyd's command line. Options given here override the configuration file's settings of
// the same name (docs/daemon.md, "Running it").
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/origin.hpp"

namespace certkey::daemon {

struct Options {
  std::optional<std::string> config_file;
  std::optional<std::vector<Origin>> allowed_origins;  // --allow-origin, repeatable
  std::optional<unsigned> port;
  std::string port_file;
  std::optional<std::string> state_dir;
  std::optional<std::string> module;
  std::optional<std::string> socket;
  bool help = false;
  bool version = false;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Options parse_options(const std::vector<std::string>& args);  // throws UsageError
std::string usage_text();

}  // namespace certkey::daemon
