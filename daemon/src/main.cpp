// certkeyd: the certkey daemon (docs/daemon.md). A localhost JSON API over HTTP for the
// CA's service pages: list tokens and certificates, renew a certificate on the token.
//
//   certkeyd --allow-origin ORIGIN... [--port N] [--port-file FILE] [--state-dir DIR]
//            [--module PATH]
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "net/listener.hpp"

namespace {

constexpr unsigned kDefaultPort = 18456;
constexpr const char* kDefaultModule = "/usr/lib/x86_64-linux-gnu/pkcs11/libcertkey-pkcs11.so";

int usage() {
  std::fprintf(stderr,
               "usage: certkeyd --allow-origin ORIGIN... [--port N] [--port-file FILE] [--state-dir DIR]\n"
               "                [--module PATH]\n"
               "  ORIGIN     a web origin that may use the API, e.g. https://ca.example.cn (repeatable)\n"
               "  --port     the loopback port (default %u; 0 picks a free one)\n"
               "  --port-file  where to write the port once listening\n"
               "  --state-dir  where renewals in progress are kept (default $XDG_STATE_HOME/certkey)\n"
               "  --module   libcertkey-pkcs11.so (default %s)\n",
               kDefaultPort, kDefaultModule);
  return 2;
}

std::string default_state_dir() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state) return std::string(state) + "/certkey";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.local/state/certkey";
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace certkey::daemon;
  namespace asio = boost::asio;
  // The module keeps the PIN in this process while a session is logged in: no core dumps.
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  GuardConfig guard;
  unsigned port = kDefaultPort;
  std::string port_file, state_dir = default_state_dir(), module = kDefaultModule;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (a == "--allow-origin") {
      auto origin = Origin::parse(value);
      if (!origin) {
        std::fprintf(stderr, "certkeyd: '%s' is not an origin (https://host[:port]; http only for loopback)\n",
                     value.c_str());
        return 2;
      }
      guard.allowed_origins.push_back(*origin);
    } else if (a == "--port") {
      char* end = nullptr;
      port = static_cast<unsigned>(std::strtoul(value.c_str(), &end, 10));
      if (value.empty() || *end || port > 65535) return usage();
    } else if (a == "--port-file") {
      port_file = value;
    } else if (a == "--state-dir") {
      state_dir = value;
    } else if (a == "--module") {
      module = value;
    } else {
      return usage();
    }
  }
  if (guard.allowed_origins.empty() || state_dir.empty()) return usage();
  try {
    std::filesystem::create_directories(state_dir);
    std::filesystem::permissions(state_dir, std::filesystem::perms::owner_all);
    TokenService tokens(module);
    RenewalJournal journal(state_dir + "/renewals.json");
    Router router(tokens, journal);
    asio::io_context io{1};
    asio::thread_pool worker{1};  // all token work, in order
    auto listener = std::make_shared<Listener>(
        io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), guard,
        router, worker);
    guard.port = listener->port();
    listener->run();
    // Also on [::1] when the machine has IPv6 loopback, on the same port.
    std::shared_ptr<Listener> listener6;
    try {
      listener6 = std::make_shared<Listener>(io, asio::ip::tcp::endpoint(asio::ip::make_address("::1"), static_cast<unsigned short>(guard.port)),
                                             guard, router, worker);
      listener6->run();
    } catch (const boost::system::system_error&) {
    }
    if (!port_file.empty()) std::ofstream(port_file) << guard.port << "\n";
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
    std::fprintf(stderr, "certkeyd: listening on 127.0.0.1:%u\n", guard.port);
    io.run();
    worker.stop();  // token work still queued is dropped, not started
    worker.join();
  } catch (const ApiError& e) {
    std::fprintf(stderr, "certkeyd: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "certkeyd: %s\n", e.what());
    return 1;
  }
  return 0;
}
