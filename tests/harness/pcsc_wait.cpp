// pcsc-wait: blocks until pcscd shows the wanted reader state, using PC/SC's own change
// notification (SCardGetStatusChange), so harness scripts never sleep and guess.
//
//   pcsc-wait --cards N                    N readers have a card present
//   pcsc-wait --reader TEXT --present      the reader whose name contains TEXT has a card
//   pcsc-wait --reader TEXT --absent       ... has none (or is gone)
//   --timeout SECONDS                      give up (exit 1) after this long; default 60
#include <PCSC/winscard.h>
#include <certkey/card/pcsc.hpp>
#include <PCSC/wintypes.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Goal {
  int cards = -1;
  std::string reader;
  bool present = true;
};

bool satisfied(const Goal& goal, const std::vector<SCARD_READERSTATE>& states) {
  int cards = 0;
  bool reader_has_card = false;
  for (const auto& s : states) {
    if (std::strcmp(s.szReader, "\\\\?PnP?\\Notification") == 0) continue;
    bool present = (s.dwEventState & SCARD_STATE_PRESENT) != 0;
    cards += present;
    if (!goal.reader.empty() && std::strstr(s.szReader, goal.reader.c_str()) && present) {
      reader_has_card = true;
    }
  }
  if (goal.cards >= 0) return cards >= goal.cards;
  return goal.present == reader_has_card;
}

}  // namespace

int main(int argc, char** argv) {
  Goal goal;
  int timeout_s = 60;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--cards" && i + 1 < argc)
      goal.cards = std::atoi(argv[++i]);
    else if (a == "--reader" && i + 1 < argc)
      goal.reader = argv[++i];
    else if (a == "--present")
      goal.present = true;
    else if (a == "--absent")
      goal.present = false;
    else if (a == "--timeout" && i + 1 < argc)
      timeout_s = std::atoi(argv[++i]);
    else {
      std::fprintf(
          stderr,
          "usage: pcsc-wait (--cards N | --reader TEXT --present|--absent) [--timeout S]\n");
      return 2;
    }
  }
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  auto remaining_ms = [&] {
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return ms > 0 ? static_cast<DWORD>(ms) : 0;
  };
  SCARDCONTEXT ctx = 0;
  // pcscd may still be starting: its socket appears when it is ready to serve.
  while (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx) != SCARD_S_SUCCESS) {
    if (remaining_ms() == 0) {
      std::fprintf(stderr, "pcsc-wait: pcscd did not come up\n");
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int status = 1;
  while (remaining_ms() > 0) {
    std::vector<std::string> names = certkey::card::list_readers();
    std::vector<SCARD_READERSTATE> states(names.size() + 1);
    for (std::size_t i = 0; i < names.size(); ++i) states[i].szReader = names[i].c_str();
    states.back().szReader = "\\\\?PnP?\\Notification";
    states.back().dwCurrentState = static_cast<DWORD>(names.size()) << 16;
    // First call with current state "unaware" returns the present state at once. Any error
    // but a timeout is final: retrying at once would only spin.
    LONG rv = SCardGetStatusChange(ctx, 0, states.data(), static_cast<DWORD>(states.size()));
    if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT) {
      std::fprintf(stderr, "pcsc-wait: %s\n", pcsc_stringify_error(rv));
      break;
    }
    if (satisfied(goal, states)) {
      status = 0;
      break;
    }
    for (auto& s : states) s.dwCurrentState = s.dwEventState & ~SCARD_STATE_CHANGED;
    SCardGetStatusChange(ctx, remaining_ms(), states.data(), static_cast<DWORD>(states.size()));
  }
  SCardReleaseContext(ctx);
  if (status != 0) std::fprintf(stderr, "pcsc-wait: timed out\n");
  return status;
}
