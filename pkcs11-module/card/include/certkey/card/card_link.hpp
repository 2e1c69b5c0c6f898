// The raw path to one card, below the APDU rules of Connection: what a PC/SC reader offers
// (pcsc.cpp), and what a recorded transcript replays (transcript.cpp). The module and every
// other host program reach cards through CardLinks, so a test can put a transcript where the
// readers were (docs/testing.md, "Transcript tests").
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "apdu.hpp"

namespace certkey::card {

// Which insertion of a card a reader holds, as pcscd tells it: its count of card insertions and
// removals in that reader (the high word of a PC/SC reader state), under one PC/SC context.
// A new context (pcscd restarted, or a forked child) counts afresh, so counts are only
// compared within one context.
struct CardInsertion {
  std::uint64_t context = 0;  // which context of the process's life; 0: none
  std::uint32_t events = 0;
  bool operator==(const CardInsertion& o) const {
    return context == o.context && events == o.events;
  }
  bool operator!=(const CardInsertion& o) const { return !(*this == o); }
};

// A reader as pcscd last saw it, without connecting to the card.
struct ReaderState {
  std::string name;
  bool card = false;  // a card is in the reader (powered or not)
  Bytes atr;          // the card's ATR, when there is one
  CardInsertion insertion;
};

class CardLink {
 public:
  virtual ~CardLink() = default;
  virtual const std::string& reader() const = 0;
  virtual const Bytes& atr() const = 0;
  // T=1 carries extended-length APDUs; T=0 (SIMs on CCID readers) only short ones.
  virtual bool extended_apdus() const = 0;
  // The insertion this link was opened to: while a reader reports the same one, the link's
  // card has not left it.
  virtual CardInsertion insertion() const = 0;
  // After Error::Kind::card_reset: the connection again (the card keeps power). Throws Error.
  virtual void reconnect() = 0;
  // Holds the card for this process until end_transaction(). Throws Error.
  virtual void begin_transaction() = 0;
  virtual void end_transaction() = 0;
  // One APDU out, its raw answer (data and status word) back. Throws Error.
  virtual Bytes exchange(const Bytes& apdu) = 0;
};

class CardLinks {
 public:
  virtual ~CardLinks() = default;
  // The names of the readers there are (empty when it cannot tell).
  virtual std::vector<std::string> readers() = 0;
  // The state of each of `readers`, in the same order, as it is now (no wait). A reader that
  // has gone has no card. Throws Error (transport) when PC/SC cannot be reached.
  virtual std::vector<ReaderState> states(const std::vector<std::string>& readers) = 0;
  // The reader named exactly `reader_match` if there is one, else the first whose name contains
  // it and that holds a card. Throws Error (no_token when none does).
  virtual std::unique_ptr<CardLink> connect(const std::string& reader_match) = 0;
};

// The machine's PC/SC readers, through pcscd, on one PC/SC context for the process.
CardLinks& pcsc_links();
// Releases that context once no link of it is left; the next use establishes another. For a
// library's last exit handler, which runs after every static object is gone.
void release_pcsc_context();

}  // namespace certkey::card
