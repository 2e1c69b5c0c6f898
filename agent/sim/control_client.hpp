// The client side of certkey-sim's control socket (docs/simulator.md): one line in ("remove
// token1"), the reply until the simulator closes the connection ("ok ..." or an error).
// Used by `certkey-sim ctl` and by the benchmarks.
#pragma once
#include <optional>
#include <string>

namespace certkey::sim {

// The reply, or nothing when the socket cannot be reached.
std::optional<std::string> control_request(const std::string& socket_path, const std::string& line);

}  // namespace certkey::sim
