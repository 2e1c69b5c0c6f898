#include "fault_point.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace certkey::daemon {
namespace {

std::string from_environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

void fault_point(std::string_view name) {
  static const std::string armed = from_environment("CERTKEY_FAULT_POINT");
  static const std::string action = from_environment("CERTKEY_FAULT_ACTION");
  // Once: the work a test lets go on, or reconciliation after a pause, may pass the same
  // step again.
  static std::atomic<bool> reached{false};
  if (armed.empty() || armed != name || reached.exchange(true)) return;
  if (action.rfind("pause:", 0) == 0) {
    const std::string dir = action.substr(6);
    std::ofstream(dir + "/reached") << armed << std::endl;
    std::string line;
    std::ifstream resume(dir + "/resume");
    std::getline(resume, line);
    return;
  }
  std::fprintf(stderr, "certkeyd: fault point %s reached, exiting\n", armed.c_str());
  std::fflush(stderr);
  ::_exit(kFaultExitStatus);
}

}  // namespace certkey::daemon
