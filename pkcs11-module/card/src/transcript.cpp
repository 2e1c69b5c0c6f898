#include <certkey/card/error.hpp>
#include <certkey/card/transcript.hpp>

#include <array>
#include <sstream>

namespace certkey::card {
namespace {

constexpr const char* kArrow = " -> ";

constexpr std::array<std::pair<Error::Kind, const char*>, 7> kKindNames{{
    {Error::Kind::transport, "transport"},
    {Error::Kind::card_reset, "card_reset"},
    {Error::Kind::token_removed, "token_removed"},
    {Error::Kind::no_token, "no_token"},
    {Error::Kind::refused, "refused"},
    {Error::Kind::bad_response, "bad_response"},
    {Error::Kind::bad_input, "bad_input"},
}};

std::string failure(const Error& e) {
  for (const auto& [kind, name] : kKindNames) {
    if (kind == e.kind()) return std::string("! ") + name;
  }
  return "! transport";
}

// An answer line of the form "! kind" becomes the Error it records.
void throw_if_failure(const std::string& answer) {
  if (answer.rfind("! ", 0) != 0) return;
  const std::string name = answer.substr(2);
  for (const auto& [kind, kind_name] : kKindNames) {
    if (name == kind_name) throw Error(kind, "as recorded: " + name);
  }
  throw TranscriptDiverged("transcript records an unknown failure: " + answer);
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

// The quoted strings in `text`, in order.
std::vector<std::string> unquoted(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '"') continue;
    std::string value;
    for (++i; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) ++i;
      value += text[i];
    }
    out.push_back(std::move(value));
  }
  return out;
}

// "3.17": the context's number and the reader's card events (CardInsertion).
std::string insertion_text(const CardInsertion& i) {
  return std::to_string(i.context) + '.' + std::to_string(i.events);
}

CardInsertion parse_insertion(const std::string& text) {
  const std::size_t dot = text.find('.');
  try {
    if (dot == std::string::npos) throw std::invalid_argument(text);
    return {std::stoull(text.substr(0, dot)),
            static_cast<std::uint32_t>(std::stoul(text.substr(dot + 1)))};
  } catch (const std::logic_error&) {
    throw TranscriptDiverged("malformed card insertion in a transcript: " + text);
  }
}

// One reader's state: "card 1.3 3B8E..." or "empty 1.2".
std::string state_text(const ReaderState& r) {
  return (r.card ? "card " : "empty ") + insertion_text(r.insertion) +
         (r.card ? ' ' + to_hex(r.atr) : std::string());
}

ReaderState parse_state(const std::string& name, const std::string& text) {
  std::istringstream in(text);
  std::string kind, insertion, atr;
  in >> kind >> insertion >> atr;
  if (kind != "card" && kind != "empty")
    throw TranscriptDiverged("malformed reader state in a transcript: " + text);
  return {name, kind == "card", from_hex(atr), parse_insertion(insertion)};
}

std::string states_request(const std::vector<std::string>& readers) {
  std::string line = "states";
  for (const std::string& name : readers) line += ' ' + quoted(name);
  return line;
}

// Runs one call of a recorded link and writes its line, failures included.
template <typename Call>
auto recorded(TranscriptRecorder& recorder, const std::string& request, Call&& call) {
  try {
    return call();
  } catch (const Error& e) {
    recorder.add(request + kArrow + failure(e));
    throw;
  }
}

class RecordedLink final : public CardLink {
 public:
  RecordedLink(TranscriptRecorder& recorder, std::unique_ptr<CardLink> real)
      : recorder_(recorder), real_(std::move(real)) {}
  const std::string& reader() const override { return real_->reader(); }
  const Bytes& atr() const override { return real_->atr(); }
  bool extended_apdus() const override { return real_->extended_apdus(); }
  CardInsertion insertion() const override { return real_->insertion(); }
  void reconnect() override {
    recorded(recorder_, "reconnect", [&] { real_->reconnect(); });
    recorder_.add(std::string("reconnect") + kArrow + "ok");
  }
  void begin_transaction() override {
    recorded(recorder_, "begin", [&] { real_->begin_transaction(); });
    recorder_.add(std::string("begin") + kArrow + "ok");
  }
  void end_transaction() override {
    real_->end_transaction();
    recorder_.add("end");
  }
  Bytes exchange(const Bytes& apdu) override {
    recorder_.add("> " + to_hex(apdu));
    try {
      Bytes response = real_->exchange(apdu);
      recorder_.add("< " + to_hex(response));
      return response;
    } catch (const Error& e) {
      recorder_.add("< " + failure(e));
      throw;
    }
  }

 private:
  TranscriptRecorder& recorder_;
  std::unique_ptr<CardLink> real_;
};

class PlayedLink final : public CardLink {
 public:
  PlayedLink(TranscriptPlayer& player, std::string reader, Bytes atr, bool extended,
             CardInsertion insertion)
      : player_(player),
        reader_(std::move(reader)),
        atr_(std::move(atr)),
        extended_(extended),
        insertion_(insertion) {}
  const std::string& reader() const override { return reader_; }
  const Bytes& atr() const override { return atr_; }
  bool extended_apdus() const override { return extended_; }
  CardInsertion insertion() const override { return insertion_; }
  void reconnect() override { throw_if_failure(player_.answer("reconnect")); }
  void begin_transaction() override { throw_if_failure(player_.answer("begin")); }
  void end_transaction() override {
    try {  // runs in destructors; a divergence here is already in the player's report
      player_.answer("end");
    } catch (const TranscriptDiverged&) {
    }
  }
  Bytes exchange(const Bytes& apdu) override {
    const std::string answer = player_.answer("> " + to_hex(apdu));
    throw_if_failure(answer);
    return from_hex(answer);
  }

 private:
  TranscriptPlayer& player_;
  std::string reader_;
  Bytes atr_;
  bool extended_;
  CardInsertion insertion_;
};

}  // namespace

std::string to_hex(const Bytes& bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

Bytes from_hex(const std::string& hex) {
  auto nibble = [&](char c) -> std::uint8_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    if (c >= 'A' && c <= 'F') return static_cast<std::uint8_t>(c - 'A' + 10);
    if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
    throw TranscriptDiverged("not hex in a transcript: " + hex);
  };
  if (hex.size() % 2 != 0) throw TranscriptDiverged("odd hex length in a transcript: " + hex);
  Bytes out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

// ---- recording -------------------------------------------------------------------------------

void TranscriptRecorder::add(std::string line) {
  const std::lock_guard<std::mutex> lock(mutex_);
  lines_.push_back(std::move(line));
}

std::string TranscriptRecorder::text() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const std::string& line : lines_) out += line + '\n';
  return out;
}

std::vector<std::string> TranscriptRecorder::readers() {
  std::vector<std::string> names = real_.readers();
  std::string line = "readers" + std::string(kArrow);
  for (const std::string& name : names) line += quoted(name) + ' ';
  line.pop_back();  // the space after the last name, or the arrow's when there is none
  add(line);
  return names;
}

std::vector<ReaderState> TranscriptRecorder::states(const std::vector<std::string>& readers) {
  const std::string request = states_request(readers);
  std::vector<ReaderState> states = recorded(*this, request, [&] { return real_.states(readers); });
  std::string line = request + kArrow;
  for (std::size_t i = 0; i < states.size(); ++i) line += (i ? " | " : "") + state_text(states[i]);
  add(line);
  return states;
}

std::unique_ptr<CardLink> TranscriptRecorder::connect(const std::string& reader_match) {
  const std::string request = "connect " + quoted(reader_match);
  std::unique_ptr<CardLink> link =
      recorded(*this, request, [&] { return real_.connect(reader_match); });
  add(request + kArrow + (link->extended_apdus() ? "t1 " : "t0 ") + to_hex(link->atr()) + ' ' +
      quoted(link->reader()) + ' ' + insertion_text(link->insertion()));
  return std::make_unique<RecordedLink>(*this, std::move(link));
}

// ---- playing ---------------------------------------------------------------------------------

TranscriptPlayer::TranscriptPlayer(const std::string& text, std::string name)
    : name_(std::move(name)) {
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    lines_.push_back({number, line});
  }
}

std::string TranscriptPlayer::answer(const std::string& request) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!divergence_.empty()) throw TranscriptDiverged(divergence_);
  std::string expected, answer;
  std::size_t used = 1;
  if (next_ < lines_.size()) {
    const std::string& line = lines_[next_].text;
    const std::size_t arrow = line.find(kArrow);
    if (line.rfind("> ", 0) == 0) {
      expected = line;
      if (next_ + 1 < lines_.size() && lines_[next_ + 1].text.rfind("< ", 0) == 0) {
        answer = lines_[next_ + 1].text.substr(2);
        used = 2;
      }
    } else if (arrow != std::string::npos) {
      expected = line.substr(0, arrow);
      answer = line.substr(arrow + std::string(kArrow).size());
    } else {
      expected = line;
    }
  }
  if (next_ >= lines_.size() || expected != request) {
    std::ostringstream report;
    report << name_ << ": this run and the transcript part at ";
    if (next_ < lines_.size()) {
      report << "line " << lines_[next_].number;
      for (std::size_t i = next_; i-- > 0;) {
        if (lines_[i].text.rfind("= ", 0) == 0) {
          report << ", in " << lines_[i].text.substr(2) << " (line " << lines_[i].number << ")";
          break;
        }
      }
      report << "\n  transcript: " << lines_[next_].text;
    } else {
      report << "its end\n  transcript: (nothing more)";
    }
    report << "\n  this run:   " << request << "\n";
    for (std::size_t i = next_ + 1; i < lines_.size() && i < next_ + 4; ++i) {
      report << (i == next_ + 1 ? "  then the transcript has:\n" : "") << "    " << lines_[i].text
             << "\n";
    }
    divergence_ = report.str();
    throw TranscriptDiverged(divergence_);
  }
  next_ += used;
  return answer;
}

std::vector<std::string> TranscriptPlayer::readers() { return unquoted(answer("readers")); }

std::vector<ReaderState> TranscriptPlayer::states(const std::vector<std::string>& readers) {
  const std::string result = answer(states_request(readers));
  throw_if_failure(result);
  std::vector<ReaderState> states;
  std::size_t from = 0;
  for (const std::string& name : readers) {
    const std::size_t bar = result.find(" | ", from);
    states.push_back(parse_state(name, result.substr(from, bar - from)));
    from = bar == std::string::npos ? result.size() : bar + 3;
  }
  return states;
}

std::unique_ptr<CardLink> TranscriptPlayer::connect(const std::string& reader_match) {
  const std::string result = answer("connect " + quoted(reader_match));
  throw_if_failure(result);
  const std::size_t space = result.find(' ');
  const std::vector<std::string> reader = unquoted(result);
  if (space == std::string::npos || reader.size() != 1)
    throw TranscriptDiverged("malformed connect line: " + result);
  const std::size_t atr_end = result.find(' ', space + 1);
  const std::size_t insertion = result.rfind(' ');
  return std::make_unique<PlayedLink>(
      *this, reader[0], from_hex(result.substr(space + 1, atr_end - space - 1)),
      result.rfind("t1 ", 0) == 0, parse_insertion(result.substr(insertion + 1)));
}

void TranscriptPlayer::mark(const std::string& step) { answer("= " + step); }

bool TranscriptPlayer::finished() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return divergence_.empty() && next_ == lines_.size();
}

std::string TranscriptPlayer::report() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (!divergence_.empty()) return divergence_;
  if (next_ == lines_.size()) return name_ + ": played to the end";
  std::ostringstream report;
  report << name_ << ": this run stopped before the transcript's line " << lines_[next_].number
         << "\n  transcript: " << lines_[next_].text << "\n";
  return report.str();
}

}  // namespace certkey::card
