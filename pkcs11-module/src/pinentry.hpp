// The trusted PIN prompt: a pinentry program (the family GnuPG uses), spoken to over its
// Assuan pipe protocol. Configured in the module's config file (docs/pkcs11.md); when set,
// tokens announce CKF_PROTECTED_AUTHENTICATION_PATH and C_Login with no PIN asks here, so
// every application gets the same prompt and the PIN never passes through it.
#pragma once
#include <optional>
#include <string>

namespace certkey::p11 {

struct ModuleConfig {
  std::string pinentry;  // program path; empty: applications supply PINs
};

// Reads $CERTKEY_PKCS11_CONF, else /etc/certkey/pkcs11.conf: "key = value" lines, # comments.
// A missing file means the defaults.
ModuleConfig load_module_config();

// Runs `program`, shows `description`, and returns the PIN, or nothing when the user
// cancelled or the program failed. The PIN travels only through the pipe, never argv.
std::optional<std::string> ask_pin(const std::string& program, const std::string& description,
                                   const std::string& prompt);

}  // namespace certkey::p11
