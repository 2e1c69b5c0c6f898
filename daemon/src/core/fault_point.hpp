// Named steps where a test can stop certkeyd (docs/daemon.md, "Crash consistency"). With
// CERTKEY_FAULT_POINT=<name> in its environment, reaching that step the first time does what
// CERTKEY_FAULT_ACTION says:
//   exit (the default)  exit with status 86 at once, without unwinding, as a kill -9 there
//                       would leave it;
//   pause:<dir>         write the step's name to the FIFO <dir>/reached, then wait for a line
//                       on the FIFO <dir>/resume before going on (a test pulls the token in
//                       between).
// The crash sweeps name every step of a renewal in turn; nothing here depends on timing.
#pragma once
#include <string_view>

namespace certkey::daemon {

inline constexpr int kFaultExitStatus = 86;

void fault_point(std::string_view name);

}  // namespace certkey::daemon
