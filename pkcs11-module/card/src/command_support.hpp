// What the card library's command files (token_client.cpp, piv_commands.cpp) share: the INS
// bytes, and the refusal every command raises on a status word other than 9000.
#pragma once
#include <certkey/card/apdu.hpp>
#include <certkey/card/error.hpp>
#include <certkey/protocol/ins.hpp>

#include <cstdio>
#include <string>

namespace certkey::card {

constexpr std::uint8_t iso(protocol::Ins i) { return static_cast<std::uint8_t>(i); }
constexpr std::uint8_t ext(protocol::CertkeyIns i) { return static_cast<std::uint8_t>(i); }

// Throws Error(refused), naming the command and its status word, unless `r` is 9000.
inline void require_ok(const Response& r, const char* what) {
  if (r.ok()) return;
  char sw[8];
  std::snprintf(sw, sizeof sw, "%04X", r.sw);
  throw Error(Error::Kind::refused, std::string(what) + " refused by the token (SW " + sw + ")",
              r.sw);
}

}  // namespace certkey::card
