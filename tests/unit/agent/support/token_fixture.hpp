// A fresh simulated token for each test, driven with raw APDU bytes built here: the test
// plays the host. The token is the SimToken composition the simulator ships (firmware core,
// PIV applet, host HAL with file-backed flash), so these tests exercise the shipped firmware.
#pragma once
#include <gtest/gtest.h>

#include <certkey/protocol/algorithms.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/limits.hpp>
#include <certkey/protocol/sw.hpp>
#include <certkey/protocol/tags.hpp>
#include <filesystem>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "openssl_test_util.hpp"
#include "sim/sim_token.hpp"

namespace certkey::protocol {
// GoogleTest prints status words as "SW 6982" and algorithms as "algorithm 11", not raw bytes.
void PrintTo(Sw sw, std::ostream* os);
void PrintTo(Algorithm algorithm, std::ostream* os);
}  // namespace certkey::protocol

namespace certkey::agent::test {

using protocol::Algorithm;
using protocol::CertkeyIns;
using protocol::Ins;
using protocol::KeyRef;
using protocol::Sw;
namespace tag = protocol::tag;

constexpr std::uint8_t u8(Ins v) { return static_cast<std::uint8_t>(v); }
constexpr std::uint8_t u8(CertkeyIns v) { return static_cast<std::uint8_t>(v); }
constexpr std::uint8_t u8(KeyRef v) { return static_cast<std::uint8_t>(v); }
constexpr std::uint8_t u8(Algorithm v) { return static_cast<std::uint8_t>(v); }
constexpr std::uint8_t u8(protocol::PinPolicy v) { return static_cast<std::uint8_t>(v); }
constexpr std::uint8_t u8(protocol::TouchPolicy v) { return static_cast<std::uint8_t>(v); }
constexpr std::uint8_t u8(protocol::KeyOrigin v) { return static_cast<std::uint8_t>(v); }

// Documented factory defaults (docs/protocol.md), spelled out independently of agent/.
inline constexpr char kDefaultPin[] = "123456";
inline constexpr char kDefaultPuk[] = "12345678";
inline const Buffer kDefaultManagementKey = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4,
                                             5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8};

// ---- encodings a host builds -------------------------------------------------------------

// Short APDU: case 1 (no data, no Le), 2S, 3S or 4S. `le` is the Le byte when present.
Buffer short_apdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                  const Buffer& data = {}, std::optional<std::uint8_t> le = std::nullopt);
// Extended APDU: case 2E (no data), 3E or 4E. `le` is the two Le bytes' value when present.
Buffer extended_apdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                     const Buffer& data, std::optional<std::uint16_t> le = std::nullopt);
Buffer tlv(std::uint16_t tag, const Buffer& value);
Buffer concat(std::initializer_list<Buffer> parts);
// 6-8 characters right-padded with FF to the 8-byte PIN block.
Buffer pin_block(const std::string& pin);
// The value of the first TLV with `tag` on the top level of `data` (1-2 byte tags, 81/82
// lengths), parsed here independently of the protocol library's TLV codec.
std::optional<Buffer> find_value(const Buffer& data, std::uint16_t tag);
std::uint32_t be32(const Buffer& four_bytes);
Buffer object_tag(std::uint32_t object_id);  // 5C tag list naming a data object
std::size_t block_size(Algorithm management_algorithm);

struct Response {
  Buffer data;
  Sw sw = Sw::unknown;
};

// Time under the test's control.
class FakeClock final : public hal::Clock {
 public:
  std::uint64_t monotonic_ms() override { return now_ms; }
  std::uint64_t now_ms = 1'000'000;
};

class TokenFixture : public ::testing::Test {
 protected:
  static constexpr std::uint32_t kSerial = 0x01C0FFEE;

  void SetUp() override;
  void TearDown() override;

  // A new token object on the same flash file: power loss, then boot and SELECT.
  void reboot();
  std::filesystem::path flash_path() const { return dir_ / "flash.bin"; }
  sim::SimToken& token() { return *token_; }

  // One exchange; the command is copied into an exactly sized buffer so that ASan sees any
  // read past its end.
  Response transmit(const Buffer& apdu);
  // A whole command as a host sends it: chained in 255-byte blocks (CLA | 10) when the data
  // is longer, and every 61xx followed by GET RESPONSE (00 C0 00 00 00).
  Response send(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                const Buffer& data = {});
  Response send(Ins ins, std::uint8_t p1, std::uint8_t p2, const Buffer& data = {});
  Response send(CertkeyIns ins, std::uint8_t p1 = 0, std::uint8_t p2 = 0, const Buffer& data = {});

  // ---- steps many tests share ----
  Response select();
  Sw verify_pin(const std::string& pin);
  Sw pin_status();  // VERIFY without data
  // Mutual authentication with the management key (7C{80 00}, then 7C{80 W, 81 C}); checks
  // the token's cryptogram for C. Returns the SW of the second step.
  Sw authenticate(Algorithm algorithm = Algorithm::tdes, const Buffer& key = kDefaultManagementKey);
  // GENERATE ASYMMETRIC KEY PAIR; returns the contents of the 7F49 template.
  Response generate(std::uint8_t slot, Algorithm algorithm, const Buffer& extra_fields = {});
  // GENERAL AUTHENTICATE 7C{82 00, 81 input}: sign a digest / raw RSA; data is the 82 value.
  Response sign(std::uint8_t slot, Algorithm algorithm, const Buffer& input);
  Response put_object(std::uint32_t object_id, const Buffer& content);
  Response get_object(std::uint32_t object_id);  // data is the 53 value
  Response metadata(std::uint8_t reference);
  Response token_info();
  std::uint32_t change_counter();  // TOKEN INFO tag 04
  // A token public key as an OpenSSL key, from a 7F49 template's contents or metadata 04.
  Pkey public_key(Algorithm algorithm, const Buffer& template_contents);

  // The one place commands reach the token; no_heap_test measures around it.
  virtual std::size_t exchange(Bytes command, MutableBytes response);
  // Factory data of the token under test: serial kSerial, USB KEY, no PIN-change policy.
  virtual piv::Identity identity() const;
  // Size of the flash file; the simulator's default unless a test needs a small flash.
  virtual std::size_t flash_size() const { return host::FileFlash::kDefaultSize; }

  FakeClock clock_;
  std::filesystem::path dir_;
  std::unique_ptr<sim::SimToken> token_;

 private:
  void boot();
};

}  // namespace certkey::agent::test
