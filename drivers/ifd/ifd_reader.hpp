// What a certkey reader driver implements for pcscd: one reader per pcscd "channel", with at
// most one card. drivers/ifd/ifd_handler.cpp turns pcscd's IFD handler API v3 into calls on
// this; each driver provides create_reader() for its medium.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace certkey::drivers {

using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

enum class TransmitStatus : std::uint8_t {
  ok,
  gone,     // the card or key went away: pcscd should see it removed
  timeout,  // the card stopped answering
  failed,   // a malformed, torn or refused exchange; the card is still there
};

class IfdReader {
 public:
  virtual ~IfdReader() = default;
  // Whether a card is there now; connects to one that has appeared. Called often by pcscd.
  virtual bool present() = 0;
  // Powers the card up or resets it: it forgets its session state (selected applications,
  // verified PINs). Fills the answer-to-reset.
  virtual bool power_up(std::vector<std::uint8_t>& atr) = 0;
  virtual void power_down() = 0;
  // One command APDU, one response APDU (data and SW1 SW2).
  virtual TransmitStatus transmit(Bytes command, MutableBytes response, std::size_t& length) = 0;
};

// Defined by each driver: what it serves ("certkey USB KEY", "certkey SD KEY"), which pcscd
// gives applications as the reader's SCARD_ATTR_VENDOR_IFD_TYPE, so a diagnosis can tell
// which of a machine's readers certkey's drivers serve whatever their names.
extern const char* const kIfdType;

// Defined by each driver: a reader for the DEVICENAME of its reader.conf.d entry or of
// pcscd's USB hotplug. Null when the name is not one this driver understands.
std::unique_ptr<IfdReader> create_reader(const std::string& device_name);

}  // namespace certkey::drivers
