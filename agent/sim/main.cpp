// certkey-sim: simulated certkey tokens for pcscd (docs/simulator.md).
//
//   certkey-sim serve --state-dir DIR [--control SOCKET] (--vpcd | --usbkey | --sdkey) NAME=... ...
//   certkey-sim ctl --control SOCKET COMMAND [TOKEN]
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "control_client.hpp"
#include "simulator.hpp"

namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: certkey-sim serve --state-dir DIR [--control SOCKET] TOKEN...\n"
      "  TOKEN: --vpcd NAME=[HOST:]PORT[,removed][,sim]   a smart card (or SIM) in a vpcd reader\n"
      "         --usbkey NAME=SOCKET[,removed]             a USB KEY behind a local socket\n"
      "         --sdkey NAME=MOUNTPOINT[,removed]          an SD KEY mounted there (FUSE)\n"
      "       certkey-sim ctl --control SOCKET (list | insert NAME | remove NAME | stats NAME |\n"
      "                                         tear NAME INS | fault NAME KIND [N] | shutdown)\n");
  return 2;
}

// Strips the options after the last commas: ",removed" (start outside the reader) and, for
// a vpcd token, ",sim" (a SIM token).
bool parse_options(std::string& rest, certkey::agent::sim::TokenSpec& spec, bool allow_sim) {
  for (auto comma = rest.rfind(','); comma != std::string::npos && comma > 0;
       comma = rest.rfind(',')) {
    const std::string option = rest.substr(comma + 1);
    if (option == "removed") {
      spec.inserted = false;
    } else if (option == "sim" && allow_sim) {
      spec.medium = certkey::protocol::Medium::sim;
    } else {
      return false;
    }
    rest = rest.substr(0, comma);
  }
  return true;
}

bool parse_token(const std::string& kind, const std::string& arg,
                 certkey::agent::sim::TokenSpec& spec) {
  using certkey::protocol::Medium;
  auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  spec.name = arg.substr(0, eq);
  if (spec.name.find_first_of(" /") != std::string::npos) return false;
  std::string rest = arg.substr(eq + 1);
  if (kind != "--vpcd") {
    spec.medium = kind == "--usbkey" ? Medium::usb_key : Medium::sd_key;
    if (!parse_options(rest, spec, false) || rest.empty()) return false;
    spec.path = rest;
    return true;
  }
  if (!parse_options(rest, spec, true)) return false;
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    spec.host = rest.substr(0, colon);
    rest = rest.substr(colon + 1);
  }
  char* end = nullptr;
  unsigned long port = std::strtoul(rest.c_str(), &end, 10);
  if (rest.empty() || *end != '\0' || port == 0 || port > 65535) return false;
  spec.port = static_cast<std::uint16_t>(port);
  return true;
}

int serve(int argc, char** argv) {
  std::string state_dir, control;
  std::vector<certkey::agent::sim::TokenSpec> specs;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    if (a == "--state-dir") {
      state_dir = argv[++i];
    } else if (a == "--control") {
      control = argv[++i];
    } else if (a == "--vpcd" || a == "--usbkey" || a == "--sdkey") {
      certkey::agent::sim::TokenSpec spec;
      if (!parse_token(a, argv[++i], spec)) {
        std::fprintf(stderr, "certkey-sim: bad %s '%s' (see usage)\n", a.c_str(), argv[i]);
        usage();
        return 2;
      }
      specs.push_back(spec);
    } else {
      return usage();
    }
  }
  if (state_dir.empty() || specs.empty()) return usage();
  certkey::agent::sim::Simulator sim(state_dir, control);
  std::string error;
  for (const auto& spec : specs) {
    if (!sim.add_token(spec, error)) {
      std::fprintf(stderr, "certkey-sim: %s\n", error.c_str());
      return 1;
    }
  }
  if (!sim.open_control(error)) {
    std::fprintf(stderr, "certkey-sim: %s\n", error.c_str());
    return 1;
  }
  return sim.run();
}

int ctl(int argc, char** argv) {
  if (argc < 5 || std::strcmp(argv[2], "--control") != 0) return usage();
  const std::string path = argv[3];
  std::string line = argv[4];
  for (int i = 5; i < argc; ++i) line += std::string(" ") + argv[i];
  const std::optional<std::string> reply = certkey::sim::control_request(path, line);
  if (!reply) {
    std::fprintf(stderr, "certkey-sim: cannot reach the simulator at %s\n", path.c_str());
    return 1;
  }
  std::fputs(reply->c_str(), stdout);
  return reply->rfind("ok", 0) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Token memory holds PINs and keys in the clear: never let it reach a core dump.
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (argc < 2) return usage();
  std::string command = argv[1];
  if (command == "serve") return serve(argc, argv);
  if (command == "ctl") return ctl(argc, argv);
  return usage();
}
