#include <certkey/card/error.hpp>
#include <certkey/card/pcsc.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/limits.hpp>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>
#include <PCSC/reader.h>
#include <PCSC/pcsclite.h>

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

namespace certkey::card {

namespace {

// The reader names in one SCardListReaders, into a buffer as long as pcsc-lite's whole list
// can be (PCSCLITE_MAX_READERS_CONTEXTS names of MAX_READERNAME bytes); a library with room for
// more readers is asked for the length first.
LONG list_reader_names(SCARDCONTEXT context, std::vector<std::string>& names) {
  names.clear();
  std::vector<char> buffer(PCSCLITE_MAX_READERS_CONTEXTS * (MAX_READERNAME + 1) + 1);
  DWORD size = static_cast<DWORD>(buffer.size());
  LONG rv = SCardListReaders(context, nullptr, buffer.data(), &size);
  if (rv == SCARD_E_INSUFFICIENT_BUFFER) {
    rv = SCardListReaders(context, nullptr, nullptr, &size);
    if (rv == SCARD_S_SUCCESS) {
      buffer.assign(size, '\0');
      rv = SCardListReaders(context, nullptr, buffer.data(), &size);
    }
  }
  if (rv != SCARD_S_SUCCESS || size == 0) return rv;
  buffer.back() = '\0';
  for (const char* p = buffer.data(); *p; p += std::strlen(p) + 1) names.emplace_back(p);
  return rv;
}

std::vector<std::string> reader_names(SCARDCONTEXT context) {
  std::vector<std::string> names;
  list_reader_names(context, names);
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

// Bumped in every forked child: a child shares its parent's PC/SC socket, so it leaves the
// parent's context alone and establishes its own.
std::atomic<unsigned> g_forks{0};

// What pcsc-lite answers on a context whose pcscd has gone (stopped, or restarted).
bool context_lost(LONG rv) {
  return rv == SCARD_E_NO_SERVICE || rv == SCARD_E_SERVICE_STOPPED ||
         rv == SCARD_E_INVALID_HANDLE || rv == SCARD_F_COMM_ERROR;
}

// One card in one PC/SC reader, on the process's context.
class PcscLink final : public CardLink {
 public:
  PcscLink(SCARDHANDLE card, DWORD protocol, const ReaderState& state)
      : card_(card),
        protocol_(protocol),
        reader_(state.name),
        atr_(state.atr),
        insertion_(state.insertion) {}
  ~PcscLink() override { SCardDisconnect(card_, SCARD_LEAVE_CARD); }
  PcscLink(const PcscLink&) = delete;
  PcscLink& operator=(const PcscLink&) = delete;

  const std::string& reader() const override { return reader_; }
  const Bytes& atr() const override { return atr_; }
  bool extended_apdus() const override { return protocol_ == SCARD_PROTOCOL_T1; }
  CardInsertion insertion() const override { return insertion_; }
  void reconnect() override;
  void begin_transaction() override;
  void end_transaction() override { SCardEndTransaction(card_, SCARD_LEAVE_CARD); }
  Bytes exchange(const Bytes& apdu) override;

 private:
  SCARDHANDLE card_ = 0;
  DWORD protocol_ = 0;
  std::string reader_;
  Bytes atr_;
  CardInsertion insertion_;
};

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

// The machine's readers through one PC/SC context for the life of the process: every context
// costs pcscd a client of its own, and establishing one is a round trip (docs/pkcs11.md 4).
class PcscLinks final : public CardLinks {
 public:
  PcscLinks() {
    pthread_atfork(nullptr, nullptr, [] { g_forks.fetch_add(1, std::memory_order_relaxed); });
  }
  void release() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (established_ && forks_ == g_forks.load(std::memory_order_relaxed))
      SCardReleaseContext(context_);
    established_ = false;
  }

  std::vector<std::string> readers() override;
  std::vector<ReaderState> states(const std::vector<std::string>& readers) override;
  std::unique_ptr<CardLink> connect(const std::string& reader_match) override;

 private:
  struct Context {
    SCARDCONTEXT handle;
    std::uint64_t number;
  };
  Context current();
  // Runs `call` on the context, and once more on a new one when pcscd has gone since the
  // context was made (it restarts without telling its clients).
  template <typename Call>
  LONG on_context(Call&& call);
  std::unique_ptr<CardLink> connect_exactly(const std::string& reader, LONG& rv);

  std::mutex mutex_;  // guards the fields below, never held across a PC/SC call
  bool established_ = false;
  SCARDCONTEXT context_ = 0;
  std::uint64_t number_ = 0;  // contexts made so far; CardInsertion::context
  unsigned forks_ = 0;        // g_forks when the context was made
};

PcscLinks::Context PcscLinks::current() {
  const std::lock_guard<std::mutex> lock(mutex_);
  const unsigned forks = g_forks.load(std::memory_order_relaxed);
  if (established_ && forks_ != forks) established_ = false;  // the parent's: not ours to release
  if (!established_) {
    const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context_);
    if (rv != SCARD_S_SUCCESS) throw_pcsc(rv, "PC/SC");
    established_ = true;
    forks_ = forks;
    ++number_;
  }
  return {context_, number_};
}

template <typename Call>
LONG PcscLinks::on_context(Call&& call) {
  const Context used = current();
  const LONG rv = call(used);
  if (!context_lost(rv)) return rv;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (established_ && number_ == used.number) {  // unless another thread renewed it already
      SCardReleaseContext(context_);
      established_ = false;
    }
  }
  return call(current());
}

std::vector<std::string> PcscLinks::readers() {
  std::vector<std::string> names;
  try {
    on_context([&](const Context& c) { return list_reader_names(c.handle, names); });
  } catch (const Error&) {
    names.clear();  // no pcscd: no readers
  }
  return names;
}

std::vector<ReaderState> PcscLinks::states(const std::vector<std::string>& readers) {
  std::vector<ReaderState> out(readers.size());
  if (readers.empty()) return out;
  std::vector<SCARD_READERSTATE> query(readers.size());
  std::uint64_t context = 0;
  const LONG rv = on_context([&](const Context& c) {
    for (std::size_t i = 0; i < readers.size(); ++i) {
      query[i] = SCARD_READERSTATE{};
      query[i].szReader = readers[i].c_str();
      query[i].dwCurrentState = SCARD_STATE_UNAWARE;  // so every reader answers at once
    }
    context = c.number;
    return SCardGetStatusChange(c.handle, 0, query.data(), static_cast<DWORD>(query.size()));
  });
  if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT && rv != SCARD_E_UNKNOWN_READER)
    throw_pcsc(rv, "PC/SC reader state");
  for (std::size_t i = 0; i < readers.size(); ++i) {
    const DWORD state = rv == SCARD_E_UNKNOWN_READER ? SCARD_STATE_UNKNOWN : query[i].dwEventState;
    ReaderState& r = out[i];
    r.name = readers[i];
    r.card = (state & SCARD_STATE_PRESENT) && !(state & (SCARD_STATE_UNKNOWN | SCARD_STATE_IGNORE));
    // pcsc-lite keeps the reader's count of card events in the high word of the state.
    r.insertion = {context, static_cast<std::uint32_t>(state >> 16)};
    if (r.card) {
      r.atr.assign(query[i].rgbAtr,
                   query[i].rgbAtr + std::min<DWORD>(query[i].cbAtr, MAX_ATR_SIZE));
    }
  }
  return out;
}

// SCardConnect to one reader, then its state for the ATR and the insertion: the state query
// is one round trip to pcscd where SCardStatus is two (pcsc-lite 1.9). nullptr with `rv` set
// when it fails.
std::unique_ptr<CardLink> PcscLinks::connect_exactly(const std::string& reader, LONG& rv) {
  SCARDHANDLE card = 0;
  DWORD protocol = 0;
  rv = on_context([&](const Context& c) {
    return SCardConnect(c.handle, reader.c_str(), SCARD_SHARE_SHARED,
                        SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol);
  });
  if (rv != SCARD_S_SUCCESS) return nullptr;
  std::vector<ReaderState> state;
  try {
    state = states({reader});
  } catch (const Error&) {
    SCardDisconnect(card, SCARD_LEAVE_CARD);
    throw;
  }
  return std::make_unique<PcscLink>(card, protocol, state.front());
}

std::unique_ptr<CardLink> PcscLinks::connect(const std::string& reader_match) {
  // The exact name first: the module always has it, and a miss costs one call.
  LONG rv = SCARD_S_SUCCESS;
  if (auto link = connect_exactly(reader_match, rv)) return link;
  if (context_lost(rv)) throw_pcsc(rv, "PC/SC connect");
  if (rv == SCARD_E_UNKNOWN_READER) {
    for (const std::string& name : readers()) {
      if (name.find(reader_match) == std::string::npos) continue;
      if (auto link = connect_exactly(name, rv)) return link;
    }
  }
  throw Error(Error::Kind::no_token, "no token in a reader matching '" + reader_match + "'");
}

}  // namespace

namespace {
PcscLinks& the_links() {
  // Never destroyed: a library's exit handlers may still use its links (release_pcsc_context).
  static PcscLinks* links = new PcscLinks;
  return *links;
}
}  // namespace

CardLinks& pcsc_links() { return the_links(); }

void release_pcsc_context() { the_links().release(); }

}  // namespace certkey::card
