// Typed payloads of the PIV command set that both ends build or read (SP 800-73-4, Yubico's
// extensions and certkey's), so that no other code spells out their tags or layout: the
// certificate object, the public-key template, GENERATE's answer, GET METADATA's answer,
// LIST KEYS' entries and the PIN-protected management key.
// Freestanding: spans into the caller's buffers, no allocation.
#pragma once
#include "bytes.hpp"
#include "defaults.hpp"
#include "ins.hpp"
#include "tags.hpp"

namespace certkey::protocol {

// ---- certificate object (SP 800-73-4 Appendix A): 70 cert, 71 CertInfo, FE EDC ----------

// What follows the certificate: 71 01 00 (not compressed) and an empty FE.
inline constexpr std::uint8_t kCertificateObjectTrailer[] = {
    static_cast<std::uint8_t>(tag::kCertInfo), 0x01, 0x00,
    static_cast<std::uint8_t>(tag::kErrorDetectionCode), 0x00};

// The size of the object that holds a `der_size`-byte certificate.
std::size_t certificate_object_size(std::size_t der_size);
// Writes the object for `der` into `out`; returns its size, or 0 when `out` is too small.
std::size_t write_certificate_object(Bytes der, MutableBytes out);
// The certificate inside an object; false when the object holds none.
bool read_certificate_object(Bytes object, Bytes& der);

// ---- public-key template (SP 800-73-4 3.3.2): 7F49 { 81 n, 82 e } or 7F49 { 86 point } ---

struct PublicKeyTemplate {
  Bytes modulus, exponent;  // RSA
  Bytes point;              // EC: uncompressed point as the token sends it
};
// Reads the template's contents, or a complete 7F49 element. Each field exactly once, and
// only the fields of the key type: `rsa` says which. Values are not checked further.
bool read_public_key_template(Bytes data, bool rsa, PublicKeyTemplate& out);

// The contents of GENERATE's answer, 7F49 { ... }; false when the answer is not one 7F49.
bool read_generated_key(Bytes answer, Bytes& template_contents);

// ---- GET METADATA (Yubico-compatible, docs/protocol.md 6.8): 01 algorithm, 02 policies, --
// ---- 03 origin, 04 public key, 05 is-default, 06 retries ---------------------------------

struct Metadata {
  bool has_algorithm = false, has_policy = false, has_origin = false;
  bool has_is_default = false, has_retries = false, has_public_key = false;
  std::uint8_t algorithm = 0, pin_policy = 0, touch_policy = 0, origin = 0;
  bool is_default = false;
  std::uint8_t retry_limit = 0, retries_left = 0;
  Bytes public_key;  // the public key template's contents (81/82 or 86)
};
// False when `data` is not a well-formed list of TLVs. A field of the wrong size is left out.
bool read_metadata(Bytes data, Metadata& out);

// ---- LIST KEYS (certkey, docs/protocol.md 7.5): one entry per slot with a key or a ---------
// ---- certificate: slot, algorithm, PIN policy, touch policy, origin, certificate length ---

struct KeyListEntry {
  std::uint8_t slot = 0;
  std::uint8_t algorithm = 0;  // 0: a certificate without a key
  std::uint8_t pin_policy = 0, touch_policy = 0, origin = 0;
  std::uint16_t certificate_length = 0;
};
// Writes one entry into `out`, which holds kListKeysEntrySize bytes.
void write_key_list_entry(const KeyListEntry& entry, MutableBytes out);
// How many entries the answer holds; false when its length is not a whole number of them.
bool key_list_count(Bytes answer, std::size_t& count);
// Entry `index` (< key_list_count) of the answer.
KeyListEntry read_key_list_entry(Bytes answer, std::size_t index);

// ---- PIN-protected management key (Yubico-compatible): 88 { 89 key } in the printed ------
// ---- information object, readable after VERIFY PIN --------------------------------------

// The key inside the object; false when the object holds none.
bool read_protected_management_key(Bytes printed_information, Bytes& key);

}  // namespace certkey::protocol
