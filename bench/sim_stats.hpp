// The simulator's APDU counter for one token (certkey-sim ctl stats), which the benchmarks
// use to count APDUs per operation whatever the host software.
#pragma once
#include <cstdio>
#include <optional>
#include <string>

inline std::optional<long> simulator_apdus(const std::string& control, const std::string& token) {
  if (control.empty()) return std::nullopt;
  const std::string command = "certkey-sim ctl --control " + control + " stats " + token;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return std::nullopt;
  char line[128] = {};
  const std::string out = fgets(line, sizeof line, p) ? line : "";
  pclose(p);
  const auto at = out.find("apdus=");
  return at == std::string::npos ? std::nullopt
                                 : std::optional<long>(std::stol(out.substr(at + 6)));
}
