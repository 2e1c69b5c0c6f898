// Replays each recorded transcript (data/*.transcript) against the card library and the
// module's C API in-process, with no pcscd and no token: the host must send exactly the
// recorded APDUs, in the recorded transactions, and take the recorded answers as it did then.
// A new APDU, a lost one or a changed one fails with the place where the two part.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "scenarios.hpp"

namespace certkey::transcripts {
// gtest names a failing case by its parameter.
void PrintTo(const Scenario& scenario, std::ostream* out) { *out << scenario.name; }

namespace {

std::string transcript_directory() {
  const char* dir = std::getenv("CERTKEY_TRANSCRIPTS");  // record's fresh recordings
  return dir ? dir : CERTKEY_TRANSCRIPT_DATA;
}

class Replay : public ::testing::TestWithParam<Scenario> {};

TEST_P(Replay, HostSendsWhatWasRecorded) {
  const Scenario& scenario = GetParam();
  const std::string path = transcript_directory() + "/" + scenario.name + ".transcript";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "no transcript at " << path;
  std::stringstream text;
  text << in.rdbuf();
  card::TranscriptPlayer player(text.str(), scenario.name + ".transcript");
  use_fixed_random();
  std::string failure;
  try {
    scenario.run(player, [](Outside) {});
  } catch (const std::exception& e) {
    failure = e.what();
  }
  EXPECT_TRUE(player.finished()) << player.report();
  EXPECT_EQ(failure, "") << "the operation failed during the replay";
}

INSTANTIATE_TEST_SUITE_P(Transcripts, Replay, ::testing::ValuesIn(scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& param) {
                           return param.param.name;
                         });

}  // namespace
}  // namespace certkey::transcripts
