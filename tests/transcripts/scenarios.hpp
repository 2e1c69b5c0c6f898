// The operations the transcript tests record and replay (docs/testing.md, "Transcript
// tests"). Each runs once against the simulator through pcscd while a TranscriptRecorder
// writes down every card call (record_transcripts.cpp), and then in every test run against a
// TranscriptPlayer of that recording (transcript_test.cpp). Either way it checks its own
// results and throws ScenarioFailed when one is not what it must be.
#pragma once
#include <certkey/card/transcript.hpp>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace certkey::transcripts {

struct ScenarioFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What happens to the token from outside the process under test while it records: another
// process resets the card, the token is pulled or put back. A player needs none of it: the
// recording holds what the process saw of it.
enum class Outside { reset_card, remove_token, insert_token };

struct Scenario {
  std::string name;
  std::string summary;  // one line for the transcript's header
  std::function<void(card::Transcript& links, const std::function<void(Outside)>& outside)> run;
  // A recording made into a different one: a hand edit, said in the header (the short answer).
  std::function<std::string(const std::string& recorded)> edit;
  // The token it is recorded on (tests/harness/with-tokens --media).
  std::string medium = "smartcard";
};

// In recording order: later scenarios use the keys and certificate the earlier ones made.
const std::vector<Scenario>& scenarios();

// OpenSSL's random bytes become a fixed sequence, restarted by each call: the management key
// authentication sends a host challenge, and a replay must send the one recorded.
void use_fixed_random();

}  // namespace certkey::transcripts
