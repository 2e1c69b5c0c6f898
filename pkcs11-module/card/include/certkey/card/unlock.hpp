// Remote unlock, host side (docs/unlock.md): the codes people read out over the phone, and
// the reference computation of the unlock key and the response.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "apdu.hpp"

namespace certkey::card::unlock {

using Code = std::array<std::uint8_t, 10>;  // a challenge or a response

// The 32 symbols codes are written in: no 0, 1, I or O, which read alike over the phone.
inline constexpr char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

// "ABCD7-EFGHK-..." : four groups of four characters and a check character, alphabet without
// 0, 1, I and O. Decoding ignores case, spaces and dashes and names the group that fails.
std::string encode(const Code& code);
Code decode(const std::string& text);

// K_u = AES-256-ECB(master, "CKUK" || serial || 01 || 00*7 || "CKUK" || serial || 02 || 00*7):
// exactly what an HSM's CKM_AES_ECB_ENCRYPT_DATA derivation yields, so the master key never
// leaves the HSM. This function is the software reference for tests and test vectors.
Bytes derivation_data(std::uint32_t serial);
Bytes derive_unlock_key(const Bytes& master_key, std::uint32_t serial);

// R = first 10 bytes of AES-256-CMAC(K_u, "CKUR" || serial || challenge).
Code compute_response(const Bytes& unlock_key, std::uint32_t serial, const Code& challenge);

}  // namespace certkey::card::unlock
