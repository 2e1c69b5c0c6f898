// The PIV card edge (NIST SP 800-73-4), the Yubico-compatible management extensions and
// certkey's own extensions (docs/protocol.md). One file per command family:
//   piv_applet.cpp      registry, dispatch table, personalisation, shared helpers
//   piv_auth.cpp        VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, management key
//   piv_objects.cpp     GET DATA, PUT DATA
//   piv_crypto.cpp      GENERAL AUTHENTICATE with the asymmetric keys
//   piv_keys.cpp        GENERATE, IMPORT, MOVE/DELETE, METADATA, ATTEST, SWAP SLOTS
//   piv_admin.cpp       VERSION, SERIAL, RESET, SET PIN RETRIES
//   certkey_extensions.cpp   TOKEN INFO and remote unlock
#pragma once
#include <certkey/protocol/algorithms.hpp>
#include <certkey/protocol/limits.hpp>

#include "../../core/applet.hpp"
#include "../../core/record_store.hpp"
#include "../../core/retry_counter.hpp"
#include "../../hal/hal.hpp"
#include "piv_records.hpp"

namespace certkey::agent::piv {

// Factory data of one token, fixed when it is made.
struct Identity {
  std::uint32_t serial = 0;
  protocol::Medium medium = protocol::Medium::smartcard;
  bool require_pin_change = false;  // before the first private-key operation
};

// The version GET VERSION reports: the Yubico feature level this card edge implements, which
// is what yubico-piv-tool and ykcs11 gate features on. TOKEN INFO reports certkey's own.
inline constexpr std::uint8_t kCompatibilityVersion[3] = {5, 7, 0};
inline constexpr std::uint8_t kFirmwareVersion[3] = {0, 1, 0};

inline constexpr std::uint8_t kDefaultPinRetries = 3;
inline constexpr std::uint8_t kDefaultPukRetries = 3;
inline constexpr std::uint8_t kManagementKeyRetries = 10;

// The key algorithms a slot can hold (protocol::kKeyAlgorithms): RSA-2048 or a curve the HAL
// has, told apart by their field size.
inline bool is_rsa(std::uint8_t algorithm) {
  const protocol::KeyAlgorithm* row = protocol::key_algorithm(algorithm);
  return row && row->family == protocol::KeyFamily::rsa;
}
inline bool curve_for(std::uint8_t algorithm, hal::Curve& out) {
  const protocol::KeyAlgorithm* row = protocol::key_algorithm(algorithm);
  if (!row || row->family != protocol::KeyFamily::ec) return false;
  for (const hal::Curve c : {hal::Curve::p256, hal::Curve::p384}) {
    if (hal::scalar_size(c) == row->field_bytes) return out = c, true;
  }
  return false;
}

class PivApplet final : public Applet {
 public:
  PivApplet(const hal::Board& board, RecordStore& store, const Identity& identity);

  // Personalises a blank (or reset) store; a no-op when the token is already personalised.
  Sw install();

  Bytes aid() const override;
  Sw select(ResponseWriter& out) override;
  void deselect() override;
  Sw process(const CommandApdu& command, ResponseWriter& out) override;
  void power_off() override;

 private:
  using Handler = Sw (PivApplet::*)(const CommandApdu&, ResponseWriter&);
  struct Command {
    std::uint8_t cla;
    std::uint8_t ins;
    Handler handler;
  };
  static const Command kCommands[];

  // piv_auth.cpp
  Sw verify(const CommandApdu& c, ResponseWriter& out);
  Sw change_reference_data(const CommandApdu& c, ResponseWriter& out);
  Sw reset_retry_counter(const CommandApdu& c, ResponseWriter& out);
  // The fields of a GENERAL AUTHENTICATE template (tag 7C); "present" distinguishes an
  // empty field (a request, such as 80 00) from an absent one.
  struct AuthField {
    bool present = false;
    Bytes value;
  };
  struct AuthTemplate {
    AuthField witness, challenge, response, exponentiation;
  };
  Sw authenticate_management(const CommandApdu& c, const AuthTemplate& t, ResponseWriter& out);
  Sw authenticate_with_key(const CommandApdu& c, const AuthTemplate& t, ResponseWriter& out);
  Sw set_management_key(const CommandApdu& c, ResponseWriter& out);
  // piv_objects.cpp
  Sw get_data(const CommandApdu& c, ResponseWriter& out);
  Sw put_data(const CommandApdu& c, ResponseWriter& out);
  // piv_crypto.cpp
  Sw general_authenticate(const CommandApdu& c, ResponseWriter& out);
  // piv_keys.cpp
  Sw generate_key(const CommandApdu& c, ResponseWriter& out);
  Sw import_key(const CommandApdu& c, ResponseWriter& out);
  Sw move_key(const CommandApdu& c, ResponseWriter& out);
  Sw swap_slots(const CommandApdu& c, ResponseWriter& out);
  Sw get_metadata(const CommandApdu& c, ResponseWriter& out);
  Sw attest(const CommandApdu& c, ResponseWriter& out);
  // piv_admin.cpp
  Sw get_version(const CommandApdu& c, ResponseWriter& out);
  Sw get_serial(const CommandApdu& c, ResponseWriter& out);
  Sw get_challenge(const CommandApdu& c, ResponseWriter& out);
  Sw reset(const CommandApdu& c, ResponseWriter& out);
  Sw set_pin_retries(const CommandApdu& c, ResponseWriter& out);
  // certkey_extensions.cpp
  Sw token_info(const CommandApdu& c, ResponseWriter& out);
  Sw unlock_challenge(const CommandApdu& c, ResponseWriter& out);
  Sw unlock_response(const CommandApdu& c, ResponseWriter& out);
  Sw set_unlock_key(const CommandApdu& c, ResponseWriter& out);
  Sw list_keys(const CommandApdu& c, ResponseWriter& out);
  bool put_credential_state(std::uint16_t info_tag, std::uint16_t counter_record,
                            std::uint16_t value_record, ResponseWriter& out) const;

  // Shared helpers (piv_applet.cpp).
  bool read_record(std::uint16_t id, void* image, std::size_t size) const;
  bool read_record_prefix(std::uint16_t id, void* image, std::size_t size) const;
  bool load_config(TokenConfig& out) const;
  std::uint32_t serial() const;
  void stage_content_change(RecordStore::Transaction& tx);
  Sw commit(RecordStore::Transaction& tx);
  void hash_pin_block(const TokenConfig& config, Bytes block, std::uint8_t out[32]) const;
  void stage_personalisation(RecordStore::Transaction& tx, const TokenConfig& config);
  void stage_default_pins(RecordStore::Transaction& tx, const TokenConfig& config,
                          std::uint8_t pin_limit, std::uint8_t puk_limit);
  // A new PIN that also unblocks it (PUK unblock, remote unlock): its hash and a full counter.
  struct PinReplacement {
    SecretHash value;
    RetryCounter counter;
    ~PinReplacement() { secure_zero(MutableBytes(value.hash, sizeof value.hash)); }
  };
  bool prepare_pin_replacement(const TokenConfig& config, Bytes pin_block,
                               PinReplacement& out) const;
  void stage_pin_replacement(RecordStore::Transaction& tx, const PinReplacement& replacement);
  bool load_key(std::uint8_t slot, KeyRecord& out, std::size_t& length) const;
  Sw check_key_access(std::uint8_t slot, const KeyHeader& key);
  Sw write_public_key(const KeyRecord& key, ResponseWriter& out);
  Sw build_attestation(std::uint8_t slot, const KeyRecord& key, ResponseWriter& out);
  Sw create_attestation_identity(RecordStore::Transaction& tx, std::uint32_t serial);
  // attestation.cpp: an X.509 certificate for `subject_key`, signed with ECDSA P-256 SHA-256.
  // An empty issuer name means self-signed. `attested_slot` != 0 adds Yubico's attestation
  // extensions (firmware version, serial, policies).
  Sw issue_certificate(Bytes issuer_name, Bytes subject_cn, const KeyRecord& subject_key,
                       const hal::EcPrivateKey& signer, std::uint8_t attested_slot,
                       ResponseWriter& out);
  static Sw outcome_to_sw(CheckResult result);

  hal::Board board_;
  RecordStore& store_;
  Identity identity_;

  // Volatile state: lost at power-off, never written to flash.
  struct Volatile {
    bool pin_verified = false;
    bool pin_fresh = false;  // PIN verified since the last "PIN always" key operation
    bool management_authenticated = false;
    std::uint8_t management_expected[16] = {};  // witness or challenge awaiting the host
    std::uint8_t management_expected_length = 0;
    bool management_witness_issued = false;  // false: a plain challenge was issued
  } volatile_;
  void clear_volatile();
  // The remote-unlock challenge (docs/unlock.md) outlives deselection: a phone's modem or
  // another application selecting its own applet during the help-desk call must not erase
  // it. It ends at its one use, at a new challenge, or at power-off.
  struct PendingUnlock {
    std::uint8_t challenge[protocol::kUnlockChallengeLength] = {};
    bool pending = false;
  } pending_unlock_;
  void clear_pending_unlock();

  // Work areas in static storage: the command path never allocates.
  KeyRecord key_work_{};
  KeyRecord signer_work_{};  // the attestation key while it signs
  std::uint8_t object_work_[protocol::kMaxDataObject] = {};
  std::uint8_t der_work_[1024] = {};
};

}  // namespace certkey::agent::piv
