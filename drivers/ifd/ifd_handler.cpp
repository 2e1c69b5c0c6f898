// pcscd's IFD handler API v3 (ifdhandler.h) over IfdReader. pcscd calls in from one thread
// per reader plus its event thread; each reader has its own lock, and the table of readers
// another, so readers never wait for each other (TAG_IFD_THREAD_SAFE).
// No exception may reach pcscd, a C program: every entry point runs its body in guarded(),
// which answers IFD_COMMUNICATION_ERROR for anything thrown (a failed allocation, a back
// end's bug), as the PKCS#11 entry points answer CKR_GENERAL_ERROR.
// The header declares the entry points without C linkage.
extern "C" {
#include <PCSC/ifdhandler.h>
}
#include <PCSC/reader.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>

#include "ifd_reader.hpp"

namespace {

using certkey::drivers::IfdReader;
using certkey::drivers::TransmitStatus;

struct Reader {
  std::mutex mutex;
  std::unique_ptr<IfdReader> reader;
  std::vector<std::uint8_t> atr;  // empty while the card is not powered
  // The card went away during an exchange. pcscd's event thread must see it absent at
  // least once, even if it is back by the next poll, or it would never power it up again.
  bool removal_unseen = false;
};

std::mutex g_table_mutex;
std::map<DWORD, std::shared_ptr<Reader>> g_readers;

constexpr DWORD kMaxReaders = 16;              // what pcscd can hold
constexpr std::uint8_t kVendor[] = "certkey";  // SCARD_ATTR_VENDOR_NAME, with its NUL

std::shared_ptr<Reader> find(DWORD lun) {
  std::lock_guard lock(g_table_mutex);
  auto it = g_readers.find(lun >> 16);  // the high half names the reader, the low half the slot
  return it == g_readers.end() ? nullptr : it->second;
}

RESPONSECODE give_bytes(const std::uint8_t* data, std::size_t size, PDWORD length, PUCHAR value) {
  if (*length < size) return IFD_ERROR_INSUFFICIENT_BUFFER;
  std::memcpy(value, data, size);
  *length = static_cast<DWORD>(size);
  return IFD_SUCCESS;
}

template <typename Body>
RESPONSECODE guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    return IFD_COMMUNICATION_ERROR;
  }
}

}  // namespace

extern "C" {

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName) {
  return guarded([&]() -> RESPONSECODE {
    auto reader = std::make_shared<Reader>();
    reader->reader = certkey::drivers::create_reader(DeviceName ? DeviceName : "");
    if (!reader->reader) return IFD_NO_SUCH_DEVICE;
    std::lock_guard lock(g_table_mutex);
    g_readers[Lun >> 16] = std::move(reader);
    return IFD_SUCCESS;
  });
}

// Only by name: a channel number says nothing about which key or card is meant.
RESPONSECODE IFDHCreateChannel(DWORD, DWORD) { return IFD_NO_SUCH_DEVICE; }

RESPONSECODE IFDHCloseChannel(DWORD Lun) {
  return guarded([&]() -> RESPONSECODE {
    std::lock_guard lock(g_table_mutex);
    g_readers.erase(Lun >> 16);
    return IFD_SUCCESS;
  });
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value) {
  return guarded([&]() -> RESPONSECODE {
    std::uint8_t one_byte = 0;
    switch (Tag) {
      case TAG_IFD_ATR:
      case SCARD_ATTR_ATR_STRING: {
        auto r = find(Lun);
        if (!r) return IFD_NO_SUCH_DEVICE;
        std::lock_guard lock(r->mutex);
        return give_bytes(r->atr.data(), r->atr.size(), Length, Value);
      }
      case SCARD_ATTR_VENDOR_NAME: return give_bytes(kVendor, sizeof kVendor, Length, Value);
      case SCARD_ATTR_VENDOR_IFD_TYPE:
        return give_bytes(reinterpret_cast<const std::uint8_t*>(certkey::drivers::kIfdType),
                          std::strlen(certkey::drivers::kIfdType) + 1, Length, Value);
      case TAG_IFD_SIMULTANEOUS_ACCESS: one_byte = kMaxReaders; break;
      case TAG_IFD_SLOTS_NUMBER: one_byte = 1; break;
      case TAG_IFD_THREAD_SAFE: one_byte = 1; break;
      case TAG_IFD_SLOT_THREAD_SAFE: one_byte = 0; break;
      default: return IFD_ERROR_TAG;
    }
    return give_bytes(&one_byte, 1, Length, Value);
  });
}

RESPONSECODE IFDHSetCapabilities(DWORD, DWORD, DWORD, PUCHAR) { return IFD_NOT_SUPPORTED; }

// The link carries whole APDUs, so both protocols the ATR offers work unchanged.
RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR, UCHAR, UCHAR, UCHAR) {
  return guarded([&]() -> RESPONSECODE {
    if (!find(Lun)) return IFD_NO_SUCH_DEVICE;
    return Protocol == SCARD_PROTOCOL_T0 || Protocol == SCARD_PROTOCOL_T1
               ? IFD_SUCCESS
               : IFD_PROTOCOL_NOT_SUPPORTED;
  });
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength) {
  return guarded([&]() -> RESPONSECODE {
    auto r = find(Lun);
    if (!r) return IFD_NO_SUCH_DEVICE;
    std::lock_guard lock(r->mutex);
    const DWORD room = *AtrLength;
    *AtrLength = 0;
    switch (Action) {
      case IFD_POWER_DOWN:
        r->reader->power_down();
        r->atr.clear();
        return IFD_SUCCESS;
      case IFD_POWER_UP:
      case IFD_RESET:
        if (!r->reader->power_up(r->atr)) {
          r->atr.clear();
          return IFD_ERROR_POWER_ACTION;
        }
        *AtrLength = room;
        return give_bytes(r->atr.data(), r->atr.size(), AtrLength, Atr);
      default: return IFD_NOT_SUPPORTED;
    }
  });
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer, DWORD TxLength,
                               PUCHAR RxBuffer, PDWORD RxLength, PSCARD_IO_HEADER RecvPci) {
  return guarded([&]() -> RESPONSECODE {
    const DWORD room = *RxLength;
    *RxLength = 0;
    auto r = find(Lun);
    if (!r) return IFD_NO_SUCH_DEVICE;
    std::lock_guard lock(r->mutex);
    if (r->atr.empty()) return IFD_ICC_NOT_PRESENT;
    std::size_t length = 0;
    switch (r->reader->transmit(certkey::drivers::Bytes(TxBuffer, TxLength),
                                certkey::drivers::MutableBytes(RxBuffer, room), length)) {
      case TransmitStatus::ok:
        *RxLength = static_cast<DWORD>(length);
        if (RecvPci) *RecvPci = SendPci;
        return IFD_SUCCESS;
      case TransmitStatus::gone:
        r->atr.clear();
        r->removal_unseen = true;
        return IFD_ICC_NOT_PRESENT;
      case TransmitStatus::timeout: return IFD_RESPONSE_TIMEOUT;
      case TransmitStatus::failed: break;
    }
    return IFD_COMMUNICATION_ERROR;
  });
}

// No reader features (PIN pads, escape commands).
RESPONSECODE IFDHControl(DWORD, DWORD, PUCHAR, DWORD, PUCHAR, DWORD, LPDWORD pdwBytesReturned) {
  if (pdwBytesReturned) *pdwBytesReturned = 0;
  return IFD_ERROR_NOT_SUPPORTED;
}

RESPONSECODE IFDHICCPresence(DWORD Lun) {
  return guarded([&]() -> RESPONSECODE {
    auto r = find(Lun);
    if (!r) return IFD_NO_SUCH_DEVICE;
    std::lock_guard lock(r->mutex);
    if (!std::exchange(r->removal_unseen, false) && r->reader->present()) return IFD_ICC_PRESENT;
    r->atr.clear();
    return IFD_ICC_NOT_PRESENT;
  });
}

}  // extern "C"
