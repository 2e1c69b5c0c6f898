// media-bench: the same token operations over each medium's path, side by side:
// a smart card and a SIM through vpcd, a USB KEY through drivers/usbkey (HID reports on a
// socket), an SD KEY through drivers/sdkey (O_DIRECT on a FUSE mount). Everything goes
// through certkey::card and pcscd, so the differences are the transports'.
//
//   media-bench --iterations N --sim-control SOCKET MEDIUM=TOKEN ...
//
// MEDIUM is a label (smartcard, sim, usbkey, sdkey); TOKEN the simulator's token name, also
// part of its reader's name. A SIM is used on a logical channel. Prints JSON, then a table.
#include <certkey/card/pcsc.hpp>
#include <certkey/card/token_client.hpp>
#include <certkey/protocol/objects.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim_stats.hpp"

namespace {

using certkey::card::Bytes;

std::string g_sim_control;

struct Result {
  std::string medium, operation;
  double median_ms = 0;
  double apdus = 0;
};

// Runs `op` `iterations` times: median wall time and APDUs per run.
Result measure(const std::string& medium, const std::string& token, const std::string& operation,
               int iterations, const std::function<void()>& op) {
  std::vector<double> ms;
  const long before = simulator_apdus(g_sim_control, token).value_or(0);
  for (int i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    op();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  const long after = simulator_apdus(g_sim_control, token).value_or(0);
  std::sort(ms.begin(), ms.end());
  return {medium, operation, ms[ms.size() / 2], static_cast<double>(after - before) / iterations};
}

const Bytes kManagementKey = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                              5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

std::vector<Result> run_medium(const std::string& medium, const std::string& token,
                               int iterations) {
  certkey::card::Connection connection(token + " 00 00");
  certkey::card::TokenClient client(connection);
  certkey::card::Connection::Transaction hold(connection);
  if (medium == "sim") client.open_logical_channel();
  client.select_piv();
  client.authenticate_management(kManagementKey, certkey::protocol::Algorithm::tdes);
  client.generate_key(0x9A, certkey::protocol::Algorithm::ecc_p256);  // for the signing operation
  Bytes object(4000);
  for (std::size_t i = 0; i < object.size(); ++i) object[i] = static_cast<std::uint8_t>(i);
  const std::uint32_t id = certkey::protocol::object::kKeyManagementCert;
  std::vector<Result> results;
  results.push_back(measure(medium, token, "TOKEN INFO (one short APDU)", iterations,
                            [&] { client.token_info(); }));
  results.push_back(measure(medium, token, "write a 4,000-byte object", iterations,
                            [&] { client.write_object(id, object); }));
  results.push_back(measure(medium, token, "read a 4,000-byte object", iterations, [&] {
    if (client.read_object(id) != object) throw std::runtime_error("object read back differs");
  }));
  results.push_back(measure(medium, token, "PIN verify + ECDSA P-256 sign", iterations, [&] {
    client.verify_pin("123456");
    client.private_key_operation(0x9A, certkey::protocol::Algorithm::ecc_p256, Bytes(32, 0x42));
  }));
  if (medium == "sim") client.close_logical_channel();
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 20;
  std::vector<std::pair<std::string, std::string>> media;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc) {
      iterations = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--sim-control" && i + 1 < argc) {
      g_sim_control = argv[++i];
    } else if (auto eq = a.find('='); eq != std::string::npos && eq > 0) {
      media.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    } else {
      std::fprintf(stderr,
                   "usage: media-bench --iterations N --sim-control SOCKET MEDIUM=TOKEN...\n");
      return 2;
    }
  }
  if (media.empty() || g_sim_control.empty()) {
    std::fprintf(stderr,
                 "usage: media-bench --iterations N --sim-control SOCKET MEDIUM=TOKEN...\n");
    return 2;
  }
  std::vector<Result> all;
  for (const auto& [medium, token] : media) {
    try {
      auto results = run_medium(medium, token, iterations);
      all.insert(all.end(), results.begin(), results.end());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "media-bench: %s: %s\n", medium.c_str(), e.what());
      return 1;
    }
  }
  std::printf("{\"benchmark\": \"media\", \"iterations\": %d, \"results\": [\n", iterations);
  for (std::size_t i = 0; i < all.size(); ++i) {
    std::printf(
        "  {\"medium\": \"%s\", \"operation\": \"%s\", \"apdus\": %.1f, \"median_ms\": %.3f}%s\n",
        all[i].medium.c_str(), all[i].operation.c_str(), all[i].apdus, all[i].median_ms,
        i + 1 < all.size() ? "," : "");
  }
  std::printf("]}\n\n| operation |");
  for (const auto& m : media) std::printf(" %s |", m.first.c_str());
  std::printf("\n|---|");
  for (std::size_t i = 0; i < media.size(); ++i) std::printf("---:|");
  std::printf("\n");
  const std::size_t per_medium = all.size() / media.size();
  for (std::size_t op = 0; op < per_medium; ++op) {
    std::printf("| %s |", all[op].operation.c_str());
    for (std::size_t m = 0; m < media.size(); ++m) {
      const Result& r = all[m * per_medium + op];
      std::printf(" %.2f ms (%.0f APDUs) |", r.median_ms, r.apdus);
    }
    std::printf("\n");
  }
  return 0;
}
