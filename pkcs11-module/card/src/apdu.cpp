#include <certkey/card/apdu.hpp>
#include <certkey/protocol/ins.hpp>
#include <certkey/protocol/limits.hpp>

#include <openssl/crypto.h>

namespace certkey::card {

Command::~Command() { wipe(data); }

void wipe(Bytes& bytes) {
  if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
}

std::vector<Bytes> encode_short(const Command& c) {
  std::vector<Bytes> blocks;
  std::size_t offset = 0;
  do {
    std::size_t n = std::min(c.data.size() - offset, protocol::kShortMaxLc);
    bool last = offset + n == c.data.size();
    Bytes apdu;
    apdu.reserve(6 + n);
    apdu.assign({static_cast<std::uint8_t>(last ? c.cla : c.cla | protocol::kClaChainBit), c.ins,
                 c.p1, c.p2});
    if (n > 0) {
      apdu.push_back(static_cast<std::uint8_t>(n));
      apdu.insert(apdu.end(), c.data.begin() + static_cast<long>(offset),
                  c.data.begin() + static_cast<long>(offset + n));
    }
    if (last) apdu.push_back(0x00);  // Le: up to 256 bytes, more through 61xx
    blocks.push_back(std::move(apdu));
    offset += n;
  } while (offset < c.data.size());
  return blocks;
}

Bytes encode_extended(const Command& c) {
  Bytes apdu;
  apdu.reserve(9 + c.data.size());  // one allocation: secrets in data are never left behind
  apdu.assign({c.cla, c.ins, c.p1, c.p2, 0x00});
  if (!c.data.empty()) {
    apdu.push_back(static_cast<std::uint8_t>(c.data.size() >> 8));
    apdu.push_back(static_cast<std::uint8_t>(c.data.size()));
    apdu.insert(apdu.end(), c.data.begin(), c.data.end());
  }
  apdu.insert(apdu.end(), {0x00, 0x00});  // Le: up to 65536 bytes
  return apdu;
}

Response decode_response(const Bytes& raw) {
  Response r;
  if (raw.size() < 2) return r;
  r.data.assign(raw.begin(), raw.end() - 2);
  r.sw = static_cast<std::uint16_t>((raw[raw.size() - 2] << 8) | raw.back());
  return r;
}

}  // namespace certkey::card
