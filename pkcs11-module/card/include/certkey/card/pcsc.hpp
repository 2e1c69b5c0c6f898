// PC/SC beyond one token: the reader list, waits for reader changes, and a survey for a
// diagnosis. Connections to tokens go through pcsc_links() (card_link.hpp).
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "apdu.hpp"
#include "connection.hpp"

namespace certkey::card {

// The names of the readers pcscd knows (empty when it cannot tell).
std::vector<std::string> list_readers();

// One wait for a change of reader state in pcscd: a token inserted or removed in one of
// `readers`, or a reader added or removed. prepare() takes the current state as the baseline
// and returns at once; block() then waits. cancel() ends a block() from another thread;
// pcsc-lite 1.9.9 cancels only a context already blocked, so a caller that cannot know
// whether block() has started repeats cancel() until the waiter has left.
class ReaderChangeWait {
 public:
  // Throws Error (transport) when pcscd cannot be reached.
  explicit ReaderChangeWait(const std::vector<std::string>& readers);
  ~ReaderChangeWait();
  ReaderChangeWait(const ReaderChangeWait&) = delete;
  ReaderChangeWait& operator=(const ReaderChangeWait&) = delete;

  enum class Outcome { changed, cancelled };
  // `changed` also when pcscd went away or the wait timed out: look again either way.
  Outcome block(std::chrono::milliseconds longest);
  void cancel();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// What pcscd says about its readers, without connecting to any card: for a diagnosis.
struct ReaderSurvey {
  bool reachable = false;  // a PC/SC context could be established
  std::string error;       // why not, when it could not
  struct Reader {
    std::string name;
    bool card_present = false;
    std::string
        driver;  // the driver's SCARD_ATTR_VENDOR_IFD_TYPE ("certkey USB KEY"), "" if it gives none
  };
  std::vector<Reader> readers;
};
ReaderSurvey survey_readers();

// Maps a PC/SC status to the card library's error kinds.
[[noreturn]] void throw_pcsc(long rv, const std::string& what);

}  // namespace certkey::card
