// A SoftHSM2 token of a test's own, in a temporary directory: the help desk's HSM
// (docs/unlock.md section 8). SOFTHSM2_CONF points at it for this process and the processes
// it starts, so `certkey helpdesk` finds the same token.
#pragma once
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace certkey::test {

class SoftHsmToken {
 public:
  static constexpr char kModule[] = "/usr/lib/softhsm/libsofthsm2.so";
  static constexpr char kLabel[] = "certkey helpdesk";
  static constexpr char kPin[] = "24681012";

  SoftHsmToken() {
    char pattern[] = "/tmp/certkey-softhsm-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp");
    dir = pattern;
    std::filesystem::create_directory(dir + "/tokens");
    std::ofstream(dir + "/softhsm2.conf") << "directories.tokendir = " << dir << "/tokens\n"
                                          << "objectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", (dir + "/softhsm2.conf").c_str(), 1);
    const std::string init = std::string("softhsm2-util --init-token --free --label '") + kLabel +
                             "' --so-pin 12345678 --pin " + kPin + " >/dev/null";
    if (std::system(init.c_str()) != 0)
      throw std::runtime_error("softhsm2-util --init-token failed");
  }
  ~SoftHsmToken() {
    ::unsetenv("SOFTHSM2_CONF");
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  SoftHsmToken(const SoftHsmToken&) = delete;
  SoftHsmToken& operator=(const SoftHsmToken&) = delete;

  // `certkey helpdesk`'s HSM options for this token.
  static std::string cli_options() {
    return std::string("--hsm-module ") + kModule + " --hsm-token '" + kLabel + "'";
  }

  std::string dir;
};

}  // namespace certkey::test
