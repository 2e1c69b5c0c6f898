#include <certkey/protocol/tags.hpp>
#include <certkey/protocol/tlv.hpp>
#include <certkey/protocol/token_info.hpp>

namespace certkey::protocol {
namespace {

bool read_credential(Bytes v, bool& present, CredentialState& out) {
  if (v.size() != 3) return false;
  present = true;
  out = CredentialState{v[0], v[1], v[2] != 0};
  return true;
}

}  // namespace

bool read_token_info(Bytes data, TokenInfo& out) {
  out = TokenInfo{};
  TlvReader reader(data);
  Tlv field;
  while (reader.next(field)) {
    const Bytes v = field.value;
    switch (field.tag) {
      case tag::kInfoSerial:
        if (v.size() == 4) out.serial = load_be32(v.data());
        break;
      case tag::kInfoMedium:
        if (v.size() == 1) out.medium = static_cast<Medium>(v[0]);
        break;
      case tag::kInfoFirmware:
        if (v.size() == 3) out.firmware[0] = v[0], out.firmware[1] = v[1], out.firmware[2] = v[2];
        break;
      case tag::kInfoChangeCounter:
        if (v.size() == 4) out.change_counter = load_be32(v.data());
        break;
      case tag::kInfoPolicy:
        if (v.size() == 1) out.policy = v[0];
        break;
      case tag::kInfoUnlockRetries:
        if (v.size() == 2)
          out.has_unlock_key = true, out.unlock_limit = v[0], out.unlock_left = v[1];
        break;
      case tag::kInfoPinState: read_credential(v, out.has_pin_state, out.pin); break;
      case tag::kInfoPukState: read_credential(v, out.has_puk_state, out.puk); break;
      default: break;  // a field of newer firmware
    }
  }
  return !reader.failed();
}

}  // namespace certkey::protocol
