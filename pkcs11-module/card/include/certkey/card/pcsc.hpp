// A PC/SC connection to one token, with one transaction per operation.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "apdu.hpp"

namespace certkey::card {

class PcscConnection {
 public:
  // Connects to the first reader whose name contains `reader_match` and holds a card.
  explicit PcscConnection(const std::string& reader_match);
  ~PcscConnection();
  PcscConnection(const PcscConnection&) = delete;
  PcscConnection& operator=(const PcscConnection&) = delete;

  const std::string& reader() const { return reader_; }
  const std::vector<std::uint8_t>& atr() const { return atr_; }

  // Whether the token is still in the reader (no APDU is sent). `unknown`: PC/SC itself failed,
  // as when pcscd restarts; the token may well still be there.
  enum class Presence { present, absent, unknown };
  Presence presence();
  // After Error::Kind::card_reset: re-establishes the connection (the card keeps power).
  void reconnect();

  // Sends a command and collects the whole response: chains long data, follows 61xx with
  // GET RESPONSE and 6Cxx with the corrected Le. Every APDU goes on the current channel.
  Response transmit(const Command& command);
  // The logical channel later commands use (0: the basic channel).
  void use_channel(std::uint8_t channel) { channel_ = channel; }
  std::uint8_t channel() const { return channel_; }

  // Holds the card exclusively for the lifetime of the object.
  class Transaction {
   public:
    explicit Transaction(PcscConnection& connection);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

   private:
    PcscConnection& connection_;
  };

 private:
  Bytes exchange(const Bytes& apdu);
  struct State;
  std::unique_ptr<State> state_;
  std::string reader_;
  std::vector<std::uint8_t> atr_;
  std::uint8_t channel_ = 0;
};

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
    std::string driver;  // the driver's SCARD_ATTR_VENDOR_IFD_TYPE ("certkey USB KEY"), "" if it gives none
  };
  std::vector<Reader> readers;
};
ReaderSurvey survey_readers();

// Maps a PC/SC status to the card library's error kinds.
[[noreturn]] void throw_pcsc(long rv, const std::string& what);

}  // namespace certkey::card
