// The module's configuration file (docs/pkcs11.md section 10.5). When it names a pinentry
// program, tokens announce CKF_PROTECTED_AUTHENTICATION_PATH and C_Login with no PIN asks
// that trusted prompt (certkey::pinentry), so the PIN never passes through the application.
#pragma once
#include <string>

namespace certkey::p11 {

struct ModuleConfig {
  std::string pinentry;  // program path; empty: applications supply PINs
};

// Reads $CERTKEY_PKCS11_CONF, else /etc/certkey/pkcs11.conf: "key = value" lines, # comments.
// A missing file means the defaults.
ModuleConfig load_module_config();

}  // namespace certkey::p11
