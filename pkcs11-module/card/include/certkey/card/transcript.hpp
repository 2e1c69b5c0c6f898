// A recorded conversation with a card: every CardLinks and CardLink call with its result, one
// line each, and between them the caller's marks naming what it was doing ("= C_Login").
// TranscriptRecorder writes one around real links; TranscriptPlayer stands where the links
// were and answers from one, and notes the first call that differs from it. The format and
// the tests built on it: docs/testing.md, "Transcript tests".
#pragma once
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "card_link.hpp"

namespace certkey::card {

class Transcript : public CardLinks {
 public:
  // Notes what the caller starts doing next; a player requires the same mark in the same place.
  virtual void mark(const std::string& step) = 0;
};

class TranscriptRecorder final : public Transcript {
 public:
  explicit TranscriptRecorder(CardLinks& real) : real_(real) {}
  std::vector<std::string> readers() override;
  std::vector<ReaderState> states(const std::vector<std::string>& readers) override;
  std::unique_ptr<CardLink> connect(const std::string& reader_match) override;
  void mark(const std::string& step) override { add("= " + step); }
  // Lines so far, each ending in a newline.
  std::string text() const;

  void add(std::string line);

 private:
  CardLinks& real_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// Thrown into the caller at the first call the transcript does not have. It is no card::Error,
// so no retry logic swallows it; the caller's own error path sees it as an internal failure.
class TranscriptDiverged : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

class TranscriptPlayer final : public Transcript {
 public:
  // `text`: a recorder's output; lines starting with '#' are comments. `name` appears in reports.
  TranscriptPlayer(const std::string& text, std::string name);
  std::vector<std::string> readers() override;
  std::vector<ReaderState> states(const std::vector<std::string>& readers) override;
  std::unique_ptr<CardLink> connect(const std::string& reader_match) override;
  void mark(const std::string& step) override;

  // Every line was played and nothing differed.
  bool finished() const;
  // Why not: where this run and the transcript part, with the transcript's next lines.
  std::string report() const;

  // The answer to a call whose line is `request`; throws TranscriptDiverged when the transcript
  // has another line there.
  std::string answer(const std::string& request);

 private:
  struct Line {
    int number;
    std::string text;
  };
  std::string name_;
  std::vector<Line> lines_;
  mutable std::mutex mutex_;
  std::size_t next_ = 0;
  std::string divergence_;
};

// Hex without separators, upper case (the transcript's byte format).
std::string to_hex(const Bytes& bytes);
Bytes from_hex(const std::string& hex);

}  // namespace certkey::card
