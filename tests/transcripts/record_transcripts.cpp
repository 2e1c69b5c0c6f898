// record-transcripts: runs each transcript scenario against pcscd and the simulator with a
// TranscriptRecorder around the PC/SC readers, and writes OUTDIR/<scenario>.transcript.
// Run inside tests/harness/with-tokens on fresh tokens (tests/transcripts/record does):
//
//   record-transcripts MEDIUM OUTDIR
//
// Records the scenarios of that medium (with-tokens --media MEDIUM) in their listed order,
// each on the token the ones before left.
#include <PCSC/winscard.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "scenarios.hpp"

namespace {

using certkey::transcripts::Outside;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  if (!value)
    throw std::runtime_error(std::string(name) +
                             " is not set: run inside tests/harness/with-tokens");
  return value;
}

void run(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

// Another process's reset: a connection of its own, left with SCARD_RESET_CARD.
void reset_card() {
  SCARDCONTEXT context = 0;
  SCARDHANDLE card = 0;
  DWORD protocol = 0;
  if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context) != SCARD_S_SUCCESS ||
      SCardConnect(context, "certkey token1 00 00", SCARD_SHARE_SHARED,
                   SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol) != SCARD_S_SUCCESS) {
    throw std::runtime_error("cannot connect to reset the card");
  }
  SCardDisconnect(card, SCARD_RESET_CARD);
  SCardReleaseContext(context);
}

void act(Outside what) {
  const std::string sim =
      env("CERTKEY_BUILD") + "/agent/sim/certkey-sim ctl --control " + env("CERTKEY_SIM_CONTROL");
  const std::string wait =
      env("CERTKEY_BUILD") + "/tests/harness/pcsc-wait --reader 'certkey token1 00 00' ";
  switch (what) {
    case Outside::reset_card: reset_card(); break;
    case Outside::remove_token:
      run(sim + " remove token1 >/dev/null && " + wait + "--absent");
      break;
    case Outside::insert_token:
      run(sim + " insert token1 >/dev/null && " + wait + "--present");
      break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: record-transcripts MEDIUM OUTDIR (inside tests/harness/with-tokens "
                 "--media MEDIUM)\n";
    return 2;
  }
  try {
    for (const auto& scenario : certkey::transcripts::scenarios()) {
      if (scenario.medium != argv[1]) continue;
      certkey::transcripts::use_fixed_random();
      certkey::card::TranscriptRecorder recorder(certkey::card::pcsc_links());
      try {
        scenario.run(recorder, act);
      } catch (const certkey::transcripts::ScenarioFailed&) {
        // A scenario checks for the edited exchange, which the unedited recording is not.
        if (!scenario.edit) throw;
      }
      std::string text =
          "# " + scenario.name + ": " + scenario.summary +
          "\n# Recorded by tests/transcripts/record against the simulator (docs/testing.md).\n" +
          recorder.text();
      if (scenario.edit) text = scenario.edit(text);
      std::ofstream(std::string(argv[2]) + "/" + scenario.name + ".transcript") << text;
      std::cout << scenario.name << ": recorded\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "record-transcripts: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
