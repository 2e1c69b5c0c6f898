// Typed payloads of the PIV command set that both ends build or read (SP 800-73-4), so that
// no other code spells out their tags: the certificate object, the public-key template and
// the PIN-protected management key.
// Freestanding: spans into the caller's buffers, no allocation.
#pragma once
#include "bytes.hpp"
#include "defaults.hpp"
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

// ---- PIN-protected management key (Yubico-compatible): 88 { 89 key } in the printed ------
// ---- information object, readable after VERIFY PIN --------------------------------------

// The key inside the object; false when the object holds none.
bool read_protected_management_key(Bytes printed_information, Bytes& key);

}  // namespace certkey::protocol
