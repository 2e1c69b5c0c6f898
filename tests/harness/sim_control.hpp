// The simulator's control socket as tests inside tests/harness/with-tokens use it
// (docs/simulator.md section 4.1): a command and its reply, and a token's APDU counter.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace certkey::test {

// `certkey-sim ctl` with ARGS; its reply line ("ok\n", "ok apdus=12\n", "error ...").
inline std::string sim(const std::string& args) {
  const char* build = std::getenv("CERTKEY_BUILD");
  const char* control = std::getenv("CERTKEY_SIM_CONTROL");
  if (!build || !control) return "error: not inside tests/harness/with-tokens\n";
  const std::string command =
      std::string(build) + "/agent/sim/certkey-sim ctl --control " + control + " " + args;
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, p)) out += buffer;
    ::pclose(p);
  }
  return out;
}

// The command APDUs the token has received since the simulator started.
inline std::uint64_t sim_apdus(const std::string& token = "token1") {
  const std::string out = sim("stats " + token);
  const std::size_t at = out.find("apdus=");
  return at == std::string::npos ? 0 : std::stoull(out.substr(at + 6));
}

}  // namespace certkey::test
