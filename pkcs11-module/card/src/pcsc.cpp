#include <certkey/card/error.hpp>
#include <certkey/card/pcsc.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/limits.hpp>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <PCSC/reader.h>

#include <cstring>

namespace certkey::card {

namespace {

std::vector<std::string> reader_names(SCARDCONTEXT context) {
  DWORD size = 0;
  std::vector<std::string> names;
  if (SCardListReaders(context, nullptr, nullptr, &size) != SCARD_S_SUCCESS || size == 0)
    return names;
  std::vector<char> buffer(size);
  if (SCardListReaders(context, nullptr, buffer.data(), &size) != SCARD_S_SUCCESS) return names;
  for (const char* p = buffer.data(); *p; p += std::strlen(p) + 1) names.emplace_back(p);
  return names;
}

}  // namespace

std::vector<std::string> list_readers() {
  SCARDCONTEXT context = 0;
  if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context) != SCARD_S_SUCCESS)
    return {};
  std::vector<std::string> names = reader_names(context);
  SCardReleaseContext(context);
  return names;
}

struct ReaderChangeWait::State {
  SCARDCONTEXT context = 0;
  std::vector<std::string> names;
  std::vector<SCARD_READERSTATE> states;
};

ReaderChangeWait::ReaderChangeWait(const std::vector<std::string>& readers)
    : state_(std::make_unique<State>()) {
  const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &state_->context);
  if (rv != SCARD_S_SUCCESS) throw_pcsc(rv, "PC/SC");
  state_->names = readers;
  state_->states.resize(readers.size() + 1);
  for (std::size_t i = 0; i < readers.size(); ++i)
    state_->states[i].szReader = state_->names[i].c_str();
  // pcsc-lite's reader-list pseudo reader: its high word counts the readers (pcsc-lite 1.9).
  state_->states.back().szReader = "\\\\?PnP?\\Notification";
  state_->states.back().dwCurrentState = static_cast<DWORD>(readers.size()) << 16;
  SCardGetStatusChange(state_->context, 0, state_->states.data(),
                       static_cast<DWORD>(state_->states.size()));
  for (auto& reader : state_->states)
    reader.dwCurrentState = reader.dwEventState & ~SCARD_STATE_CHANGED;
}

ReaderChangeWait::~ReaderChangeWait() { SCardReleaseContext(state_->context); }

ReaderChangeWait::Outcome ReaderChangeWait::block(std::chrono::milliseconds longest) {
  const LONG rv =
      SCardGetStatusChange(state_->context, static_cast<DWORD>(longest.count()),
                           state_->states.data(), static_cast<DWORD>(state_->states.size()));
  return rv == SCARD_E_CANCELLED ? Outcome::cancelled : Outcome::changed;
}

void ReaderChangeWait::cancel() { SCardCancel(state_->context); }

namespace {

// A direct connection needs no card; the attribute comes from the reader's driver.
std::string driver_of(SCARDCONTEXT context, const std::string& reader) {
  SCARDHANDLE card = 0;
  DWORD protocol = 0;
  if (SCardConnect(context, reader.c_str(), SCARD_SHARE_DIRECT, 0, &card, &protocol) !=
      SCARD_S_SUCCESS)
    return {};
  unsigned char value[128] = {};
  DWORD length = sizeof value;
  const LONG rv = SCardGetAttrib(card, SCARD_ATTR_VENDOR_IFD_TYPE, value, &length);
  SCardDisconnect(card, SCARD_LEAVE_CARD);
  if (rv != SCARD_S_SUCCESS || length == 0 || length > sizeof value) return {};
  return std::string(reinterpret_cast<const char*>(value),
                     strnlen(reinterpret_cast<const char*>(value), length));
}

}  // namespace

ReaderSurvey survey_readers() {
  ReaderSurvey survey;
  SCARDCONTEXT context = 0;
  const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context);
  if (rv != SCARD_S_SUCCESS) {
    survey.error = pcsc_stringify_error(rv);
    return survey;
  }
  survey.reachable = true;
  const std::vector<std::string> names = reader_names(context);
  std::vector<SCARD_READERSTATE> states(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    states[i].szReader = names[i].c_str();
    states[i].dwCurrentState = SCARD_STATE_UNAWARE;
  }
  // Timeout 0: the current state of each reader, at once.
  const bool known =
      !states.empty() && SCardGetStatusChange(context, 0, states.data(),
                                              static_cast<DWORD>(states.size())) == SCARD_S_SUCCESS;
  for (std::size_t i = 0; i < names.size(); ++i) {
    survey.readers.push_back({names[i],
                              known && (states[i].dwEventState & SCARD_STATE_PRESENT) != 0,
                              driver_of(context, names[i])});
  }
  SCardReleaseContext(context);
  return survey;
}

void throw_pcsc(long rv, const std::string& what) {
  const std::string text = what + ": " + pcsc_stringify_error(static_cast<LONG>(rv));
  switch (rv) {
    case SCARD_W_RESET_CARD: throw Error(Error::Kind::card_reset, text);
    case SCARD_W_REMOVED_CARD:
    case SCARD_E_NO_SMARTCARD:
    case SCARD_W_UNPOWERED_CARD:
    case SCARD_W_UNRESPONSIVE_CARD: throw Error(Error::Kind::token_removed, text);
    default: throw Error(Error::Kind::transport, text);
  }
}

namespace {

// One card in one PC/SC reader, with a context of its own.
class PcscLink final : public CardLink {
 public:
  explicit PcscLink(const std::string& reader_match);
  ~PcscLink() override {
    SCardDisconnect(card_, SCARD_LEAVE_CARD);
    SCardReleaseContext(context_);
  }
  PcscLink(const PcscLink&) = delete;
  PcscLink& operator=(const PcscLink&) = delete;

  const std::string& reader() const override { return reader_; }
  const Bytes& atr() const override { return atr_; }
  bool extended_apdus() const override { return protocol_ == SCARD_PROTOCOL_T1; }
  Presence presence() override;
  void reconnect() override;
  void begin_transaction() override;
  void end_transaction() override { SCardEndTransaction(card_, SCARD_LEAVE_CARD); }
  Bytes exchange(const Bytes& apdu) override;

 private:
  SCARDCONTEXT context_ = 0;
  SCARDHANDLE card_ = 0;
  DWORD protocol_ = 0;
  std::string reader_;
  Bytes atr_;
};

PcscLink::PcscLink(const std::string& reader_match) {
  LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context_);
  if (rv != SCARD_S_SUCCESS) throw_pcsc(rv, "PC/SC");
  // A reader named exactly as asked is the only candidate; otherwise every reader whose name
  // contains the text, in order.
  const std::vector<std::string> names = reader_names(context_);
  std::vector<const char*> candidates;
  for (const std::string& name : names) {
    if (name == reader_match) {
      candidates.assign(1, name.c_str());
      break;
    }
    if (name.find(reader_match) != std::string::npos) candidates.push_back(name.c_str());
  }
  for (const char* p : candidates) {
    if (SCardConnect(context_, p, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card_,
                     &protocol_) == SCARD_S_SUCCESS) {
      reader_ = p;
      std::uint8_t atr[MAX_ATR_SIZE];
      DWORD atr_length = sizeof atr, state = 0, protocol = 0, name_length = 0;
      if (SCardStatus(card_, nullptr, &name_length, &state, &protocol, atr, &atr_length) ==
          SCARD_S_SUCCESS) {
        atr_.assign(atr, atr + atr_length);
      }
      return;
    }
  }
  SCardReleaseContext(context_);
  throw Error(Error::Kind::no_token, "no token in a reader matching '" + reader_match + "'");
}

Presence PcscLink::presence() {
  DWORD name_length = 0, state = 0, protocol = 0, atr_length = 0;
  LONG rv = SCardStatus(card_, nullptr, &name_length, &state, &protocol, nullptr, &atr_length);
  switch (rv) {
    case SCARD_S_SUCCESS:
    case SCARD_W_RESET_CARD: return Presence::present;
    case SCARD_W_REMOVED_CARD:
    case SCARD_E_NO_SMARTCARD: return Presence::absent;
    default: return Presence::unknown;
  }
}

void PcscLink::reconnect() {
  LONG rv = SCardReconnect(card_, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                           SCARD_LEAVE_CARD, &protocol_);
  if (rv != SCARD_S_SUCCESS) throw_pcsc(rv, "PC/SC reconnect");
}

void PcscLink::begin_transaction() {
  LONG rv = SCardBeginTransaction(card_);
  if (rv != SCARD_S_SUCCESS) throw_pcsc(rv, "PC/SC transaction");
}

Bytes PcscLink::exchange(const Bytes& apdu) {
  Bytes out(protocol::kMaxResponseApdu);
  DWORD length = static_cast<DWORD>(out.size());
  const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
  LONG rv = SCardTransmit(card_, pci, apdu.data(), static_cast<DWORD>(apdu.size()), nullptr,
                          out.data(), &length);
  if (rv != SCARD_S_SUCCESS) throw_pcsc(rv, "PC/SC transmit");
  Bytes response(out.begin(), out.begin() + length);
  wipe(out);  // responses carry decrypted data and shared secrets
  return response;
}

class PcscLinks final : public CardLinks {
 public:
  std::vector<std::string> readers() override { return list_readers(); }
  std::unique_ptr<CardLink> connect(const std::string& reader_match) override {
    return std::make_unique<PcscLink>(reader_match);
  }
};

}  // namespace

CardLinks& pcsc_links() {
  static PcscLinks links;
  return links;
}

}  // namespace certkey::card
