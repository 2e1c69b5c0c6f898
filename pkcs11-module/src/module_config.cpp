#include "module_config.hpp"

#include <cstdlib>
#include <fstream>

namespace certkey::p11 {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

ModuleConfig load_module_config() {
  ModuleConfig config;
  const char* env = std::getenv("CERTKEY_PKCS11_CONF");
  std::ifstream file(env ? env : "/etc/certkey/pkcs11.conf");
  std::string line;
  while (std::getline(file, line)) {
    line = trim(line.substr(0, line.find('#')));
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    if (trim(line.substr(0, eq)) == "pinentry") config.pinentry = trim(line.substr(eq + 1));
  }
  return config;
}

}  // namespace certkey::p11
