#include "options.hpp"

#include <algorithm>

#include "../config/config.hpp"

#ifndef CERTKEY_DEFAULT_MODULE
#error "CERTKEY_DEFAULT_MODULE names the installed libcertkey-pkcs11.so (daemon/CMakeLists.txt)"
#endif

namespace certkey::daemon {

Options parse_options(const std::vector<std::string>& args) {
  Options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& name = args[i];
    if (name == "--help" || name == "-h") {
      o.help = true;
      continue;
    }
    if (name == "--version") {
      o.version = true;
      continue;
    }
    if (i + 1 >= args.size())
      throw UsageError(name.rfind("--", 0) == 0 ? name + " needs a value"
                                                : "unknown argument " + name);
    const std::string& value = args[++i];
    if (name == "--config") {
      o.config_file = value;
    } else if (name == "--allow-origin") {
      const std::optional<Origin> origin = Origin::parse(value);
      if (!origin || origin->text() != value) {
        throw UsageError("'" + value +
                         "' is not an origin as browsers send it (https://host[:port]; http only "
                         "for localhost)");
      }
      if (!o.allowed_origins) o.allowed_origins.emplace();
      o.allowed_origins->push_back(*origin);
    } else if (name == "--port") {
      if (value.empty() || value.size() > 5 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoul(value) > 65535) {
        throw UsageError("--port takes 0-65535");
      }
      o.port = static_cast<unsigned>(std::stoul(value));
    } else if (name == "--port-file") {
      o.port_file = value;
    } else if (name == "--state-dir") {
      o.state_dir = value;
    } else if (name == "--module") {
      o.module = value;
    } else if (name == "--socket") {
      o.socket = value;
    } else {
      throw UsageError("unknown option " + name);
    }
  }
  return o;
}

std::string usage_text() {
  return std::string(
             "usage: certkeyd [--config FILE] [--allow-origin ORIGIN]... [--port N] [--port-file "
             "FILE]\n"
             "                [--state-dir DIR] [--module PATH] [--socket PATH] [--help] "
             "[--version]\n"
             "\n"
             "certkeyd gives web pages of your certificate authority, the certkey command and the\n"
             "certkey browser extension access to your certificate tokens (docs/daemon.md).\n"
             "\n"
             "  --config FILE        the configuration file (default: "
             "$XDG_CONFIG_HOME/certkey/certkeyd.toml,\n"
             "                       then /etc/certkey/certkeyd.toml; none: built-in defaults)\n"
             "  --allow-origin ORIGIN  a web origin that may use the API, e.g. "
             "https://ca.example.cn;\n"
             "                       repeatable; replaces the file's allowed_origins. With none,\n"
             "                       HTTP refuses every origin and the unix socket still serves\n"
             "  --port N             the loopback HTTP port (default ") +
         std::to_string(kDefaultPort) +
         "; 0 picks a free one). Each user of a shared\n"
         "                       machine needs a port of their own\n"
         "  --port-file FILE     where to write the port once listening (a FIFO is written in "
         "place,\n"
         "                       so a script can wait for the daemon by reading it)\n"
         "  --state-dir DIR      the state database's directory (default $XDG_STATE_HOME/certkey,\n"
         "                       else ~/.local/state/certkey)\n"
         "  --module PATH        the PKCS#11 module (default " CERTKEY_DEFAULT_MODULE
         ")\n"
         "  --socket PATH        the unix socket (default $XDG_RUNTIME_DIR/certkey/certkeyd.sock)\n"
         "  --help               this text\n"
         "  --version            the version\n";
}

}  // namespace certkey::daemon
