// libcertkey-pcsc-count.so (pcsc_count.h): the SCard* functions of pcsc-lite 1.9's winscard.h,
// each counted and then passed to the real libpcsclite.so.1, opened on first use.
#include "pcsc_count.h"

#include <PCSC/winscard.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

constexpr const char* kFunctions[] = {
    "SCardEstablishContext", "SCardReleaseContext",  "SCardIsValidContext",   "SCardConnect",
    "SCardReconnect",        "SCardDisconnect",      "SCardBeginTransaction", "SCardEndTransaction",
    "SCardStatus",           "SCardGetStatusChange", "SCardControl",          "SCardTransmit",
    "SCardListReaderGroups", "SCardListReaders",     "SCardFreeMemory",       "SCardCancel",
    "SCardGetAttrib",        "SCardSetAttrib",
};
constexpr int kCount = sizeof kFunctions / sizeof kFunctions[0];

constexpr int index_of(std::string_view name) {
  for (int i = 0; i < kCount; ++i) {
    if (name == kFunctions[i]) return i;
  }
  return -1;
}

std::atomic<unsigned long> g_calls[kCount];

// The real function: libpcsclite opened by its soname, so that a copy loaded by the process
// itself or by OpenSC is the same library.
void* real(const char* name) {
  static void* library = dlopen("libpcsclite.so.1", RTLD_NOW | RTLD_LOCAL);
  void* function = library ? dlsym(library, name) : nullptr;
  if (!function) {
    std::fprintf(stderr, "certkey-pcsc-count: no %s in libpcsclite.so.1\n", name);
    std::abort();
  }
  return function;
}

}  // namespace

// Counts the call, then makes it. The index is checked when this library is compiled.
#define FORWARD(name, ...)                                                       \
  static_assert(index_of(#name) >= 0, #name " is not in kFunctions");            \
  g_calls[index_of(#name)].fetch_add(1, std::memory_order_relaxed);              \
  static const auto function = reinterpret_cast<decltype(&::name)>(real(#name)); \
  return function(__VA_ARGS__)

extern "C" {

int certkey_pcsc_functions(void) { return kCount; }
const char* certkey_pcsc_function_name(int i) {
  return i >= 0 && i < kCount ? kFunctions[i] : nullptr;
}
unsigned long certkey_pcsc_calls(int i) {
  return i >= 0 && i < kCount ? g_calls[i].load(std::memory_order_relaxed) : 0;
}

LONG SCardEstablishContext(DWORD scope, LPCVOID reserved1, LPCVOID reserved2,
                           LPSCARDCONTEXT context) {
  FORWARD(SCardEstablishContext, scope, reserved1, reserved2, context);
}
LONG SCardReleaseContext(SCARDCONTEXT context) { FORWARD(SCardReleaseContext, context); }
LONG SCardIsValidContext(SCARDCONTEXT context) { FORWARD(SCardIsValidContext, context); }
LONG SCardConnect(SCARDCONTEXT context, LPCSTR reader, DWORD share, DWORD preferred,
                  LPSCARDHANDLE card, LPDWORD protocol) {
  FORWARD(SCardConnect, context, reader, share, preferred, card, protocol);
}
LONG SCardReconnect(SCARDHANDLE card, DWORD share, DWORD preferred, DWORD initialization,
                    LPDWORD protocol) {
  FORWARD(SCardReconnect, card, share, preferred, initialization, protocol);
}
LONG SCardDisconnect(SCARDHANDLE card, DWORD disposition) {
  FORWARD(SCardDisconnect, card, disposition);
}
LONG SCardBeginTransaction(SCARDHANDLE card) { FORWARD(SCardBeginTransaction, card); }
LONG SCardEndTransaction(SCARDHANDLE card, DWORD disposition) {
  FORWARD(SCardEndTransaction, card, disposition);
}
LONG SCardStatus(SCARDHANDLE card, LPSTR names, LPDWORD names_length, LPDWORD state,
                 LPDWORD protocol, LPBYTE atr, LPDWORD atr_length) {
  FORWARD(SCardStatus, card, names, names_length, state, protocol, atr, atr_length);
}
LONG SCardGetStatusChange(SCARDCONTEXT context, DWORD timeout, SCARD_READERSTATE* states,
                          DWORD count) {
  FORWARD(SCardGetStatusChange, context, timeout, states, count);
}
LONG SCardControl(SCARDHANDLE card, DWORD code, LPCVOID in, DWORD in_length, LPVOID out,
                  DWORD out_length, LPDWORD returned) {
  FORWARD(SCardControl, card, code, in, in_length, out, out_length, returned);
}
LONG SCardTransmit(SCARDHANDLE card, const SCARD_IO_REQUEST* send_pci, LPCBYTE send,
                   DWORD send_length, SCARD_IO_REQUEST* receive_pci, LPBYTE receive,
                   LPDWORD receive_length) {
  FORWARD(SCardTransmit, card, send_pci, send, send_length, receive_pci, receive, receive_length);
}
LONG SCardListReaderGroups(SCARDCONTEXT context, LPSTR groups, LPDWORD length) {
  FORWARD(SCardListReaderGroups, context, groups, length);
}
LONG SCardListReaders(SCARDCONTEXT context, LPCSTR groups, LPSTR readers, LPDWORD length) {
  FORWARD(SCardListReaders, context, groups, readers, length);
}
LONG SCardFreeMemory(SCARDCONTEXT context, LPCVOID memory) {
  FORWARD(SCardFreeMemory, context, memory);
}
LONG SCardCancel(SCARDCONTEXT context) { FORWARD(SCardCancel, context); }
LONG SCardGetAttrib(SCARDHANDLE card, DWORD id, LPBYTE value, LPDWORD length) {
  FORWARD(SCardGetAttrib, card, id, value, length);
}
LONG SCardSetAttrib(SCARDHANDLE card, DWORD id, LPCBYTE value, DWORD length) {
  FORWARD(SCardSetAttrib, card, id, value, length);
}

}  // extern "C"
