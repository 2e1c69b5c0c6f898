#include <certkey/card/error.hpp>
#include <certkey/card/openssl_ptr.hpp>
#include <certkey/card/unlock.hpp>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <memory>

namespace certkey::card::unlock {
namespace {

constexpr int kBase = 32;
constexpr int kGroups = 4;
constexpr int kGroupData = 4;

int symbol_value(char c) {
  c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (int i = 0; i < kBase; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

// Luhn mod 32 over the group number and its data symbols: catches any single wrong symbol,
// most swaps of neighbours, and groups read in the wrong order.
int check_symbol(int group, const int* data) {
  int values[1 + kGroupData] = {group, data[0], data[1], data[2], data[3]};
  int factor = 2, sum = 0;
  for (int i = kGroupData; i >= 0; --i) {
    int addend = factor * values[i];
    factor = factor == 2 ? 1 : 2;
    sum += addend / kBase + addend % kBase;
  }
  return (kBase - sum % kBase) % kBase;
}

std::array<std::uint8_t, 16> aes256_cmac(const Bytes& key, const Bytes& message) {
  if (key.size() != 32) throw Error(Error::Kind::bad_input, "unlock key must be 32 bytes");
  MacPtr mac(EVP_MAC_fetch(nullptr, "CMAC", nullptr));
  MacCtxPtr ctx(mac ? EVP_MAC_CTX_new(mac.get()) : nullptr);
  char cipher[] = "AES-256-CBC";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
                         OSSL_PARAM_construct_end()};
  std::array<std::uint8_t, 16> out{};
  std::size_t length = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), message.data(), message.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1) {
    throw Error(Error::Kind::bad_input, "AES-CMAC failed");
  }
  return out;
}

void put_be32(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

}  // namespace

std::string encode(const Code& code) {
  int symbols[kGroups * kGroupData];
  for (int i = 0; i < kGroups * kGroupData; ++i) {  // 80 bits, 5 per symbol, most significant first
    int value = 0;
    for (int b = 0; b < 5; ++b) {
      int bit = i * 5 + b;
      value = (value << 1) | ((code[static_cast<std::size_t>(bit / 8)] >> (7 - bit % 8)) & 1);
    }
    symbols[i] = value;
  }
  std::string text;
  for (int g = 0; g < kGroups; ++g) {
    if (g) text += '-';
    for (int k = 0; k < kGroupData; ++k) text += kAlphabet[symbols[g * kGroupData + k]];
    text += kAlphabet[check_symbol(g, symbols + g * kGroupData)];
  }
  return text;
}

Code decode(const std::string& text) {
  std::string clean;
  for (char c : text) {
    if (c == '-' || c == ' ') continue;
    if (symbol_value(c) < 0) {
      throw Error(Error::Kind::bad_input,
                  std::string("'") + c +
                      "' is not a code character (codes use 2-9 and A-Z without I and O)");
    }
    clean += c;
  }
  if (clean.size() != static_cast<std::size_t>(kGroups * (kGroupData + 1))) {
    throw Error(Error::Kind::bad_input, "a code has 20 characters in four groups of five");
  }
  int symbols[kGroups * kGroupData];
  for (int g = 0; g < kGroups; ++g) {
    for (int k = 0; k < kGroupData; ++k)
      symbols[g * kGroupData + k] = symbol_value(clean[static_cast<std::size_t>(g * 5 + k)]);
    if (symbol_value(clean[static_cast<std::size_t>(g * 5 + 4)]) !=
        check_symbol(g, symbols + g * kGroupData)) {
      throw Error(Error::Kind::bad_input,
                  "group " + std::to_string(g + 1) + " does not check; please read it again");
    }
  }
  Code code{};
  for (int i = 0; i < kGroups * kGroupData; ++i) {
    for (int b = 0; b < 5; ++b) {
      int bit = i * 5 + b;
      if ((symbols[i] >> (4 - b)) & 1)
        code[static_cast<std::size_t>(bit / 8)] |= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    }
  }
  return code;
}

Bytes derivation_data(std::uint32_t serial) {
  Bytes data;
  for (std::uint8_t block = 1; block <= 2; ++block) {
    data.insert(data.end(), {'C', 'K', 'U', 'K'});
    put_be32(data, serial);
    data.push_back(block);
    data.insert(data.end(), 7, 0x00);
  }
  return data;
}

Bytes derive_unlock_key(const Bytes& master_key, std::uint32_t serial) {
  if (master_key.size() != 32) throw Error(Error::Kind::bad_input, "master key must be 32 bytes");
  Bytes data = derivation_data(serial);
  Bytes key(data.size());
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int n = 0;
  if (!ctx ||
      EVP_EncryptInit_ex2(ctx.get(), EVP_aes_256_ecb(), master_key.data(), nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ctx.get(), 0) != 1 ||
      EVP_EncryptUpdate(ctx.get(), key.data(), &n, data.data(), static_cast<int>(data.size())) !=
          1 ||
      n != static_cast<int>(key.size())) {
    throw Error(Error::Kind::bad_input, "AES-256-ECB failed");
  }
  return key;
}

Code compute_response(const Bytes& unlock_key, std::uint32_t serial, const Code& challenge) {
  Bytes message{'C', 'K', 'U', 'R'};
  put_be32(message, serial);
  message.insert(message.end(), challenge.begin(), challenge.end());
  std::array<std::uint8_t, 16> mac = aes256_cmac(unlock_key, message);
  Code response{};
  std::copy(mac.begin(), mac.begin() + static_cast<long>(response.size()), response.begin());
  OPENSSL_cleanse(mac.data(), mac.size());
  return response;
}

}  // namespace certkey::card::unlock
