// The raw path to one card, below the APDU rules of Connection: what a PC/SC reader offers
// (pcsc.cpp), and what a recorded transcript replays (transcript.cpp). The module and every
// other host program reach cards through CardLinks, so a test can put a transcript where the
// readers were (docs/testing.md, "Transcript tests").
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "apdu.hpp"

namespace certkey::card {

// Whether the token is still in the reader. `unknown`: the link itself failed, as when pcscd
// restarts; the token may well still be there.
enum class Presence { present, absent, unknown };

class CardLink {
 public:
  virtual ~CardLink() = default;
  virtual const std::string& reader() const = 0;
  virtual const Bytes& atr() const = 0;
  // T=1 carries extended-length APDUs; T=0 (SIMs on CCID readers) only short ones.
  virtual bool extended_apdus() const = 0;
  virtual Presence presence() = 0;
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
  // The reader named exactly `reader_match` if there is one, else the first whose name contains
  // it and that holds a card. Throws Error (no_token when none does).
  virtual std::unique_ptr<CardLink> connect(const std::string& reader_match) = 0;
};

// The machine's PC/SC readers, through pcscd.
CardLinks& pcsc_links();

}  // namespace certkey::card
