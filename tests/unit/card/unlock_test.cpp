// Unit tests of the remote-unlock host side (certkey::card::unlock, docs/unlock.md) and of the
// PIN block encoding (certkey::card::pin_block). Nothing here needs a token or pcscd.
//
// The test vectors are the ones published in docs/unlock.md, computed there independently
// with the openssl command line; if these tests and that document disagree, one of them is
// wrong and must be fixed before the other is trusted.
#include <certkey/card/error.hpp>
#include <certkey/card/token_client.hpp>
#include <certkey/card/unlock.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace certkey::card {
namespace {

constexpr char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

unlock::Code code_from_hex(const std::string& hex) {
  Bytes bytes = from_hex(hex);
  unlock::Code code{};
  EXPECT_EQ(bytes.size(), code.size());
  for (std::size_t i = 0; i < code.size() && i < bytes.size(); ++i) code[i] = bytes[i];
  return code;
}

// Runs decode() and returns the message of the Error it throws ("" if it does not throw).
std::string decode_error(const std::string& text) {
  try {
    unlock::decode(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::bad_input);
    return e.what();
  }
  return "";
}

// ---- test vectors (docs/unlock.md, "Test vectors") ----------------------------------------

// Master key 00 01 .. 1F, serial 12345678 (0x00BC614E), challenge A0 A1 .. A9.
Bytes vector_master_key() {
  Bytes key;
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<std::uint8_t>(i));
  return key;
}
constexpr std::uint32_t kVectorSerial = 12345678;
const char kVectorDerivationData[] =
    "434b554b00bc614e0100000000000000"
    "434b554b00bc614e0200000000000000";
const char kVectorUnlockKey[] =
    "6731fd47f2cc17b6f27f224ddb8a67b0"
    "9fc344c0c2ad03110645856df5467b57";
const char kVectorChallenge[] = "a0a1a2a3a4a5a6a7a8a9";
const char kVectorResponse[] = "2b6ef3ec1cd1eda82090";
const char kVectorChallengeCode[] = "N4JU5-7AX66-NQMCN-HC7B2";
const char kVectorResponseCode[] = "7FRHE-9V2W9-U9QUB-JA6JP";

TEST(UnlockVectors, DerivationData_IsTwoLabelledBlocks) {
  EXPECT_EQ(unlock::derivation_data(kVectorSerial), from_hex(kVectorDerivationData));
}

TEST(UnlockVectors, DeriveUnlockKey_MatchesVector) {
  EXPECT_EQ(unlock::derive_unlock_key(vector_master_key(), kVectorSerial),
            from_hex(kVectorUnlockKey));
}

TEST(UnlockVectors, ComputeResponse_MatchesVector) {
  unlock::Code response = unlock::compute_response(from_hex(kVectorUnlockKey), kVectorSerial,
                                                   code_from_hex(kVectorChallenge));
  EXPECT_EQ(response, code_from_hex(kVectorResponse));
}

TEST(UnlockVectors, Codes_MatchVector) {
  EXPECT_EQ(unlock::encode(code_from_hex(kVectorChallenge)), kVectorChallengeCode);
  EXPECT_EQ(unlock::encode(code_from_hex(kVectorResponse)), kVectorResponseCode);
  EXPECT_EQ(unlock::decode(kVectorChallengeCode), code_from_hex(kVectorChallenge));
  EXPECT_EQ(unlock::decode(kVectorResponseCode), code_from_hex(kVectorResponse));
}

TEST(UnlockVectors, ResponseDependsOnSerialAndChallenge) {
  const Bytes key = from_hex(kVectorUnlockKey);
  const unlock::Code challenge = code_from_hex(kVectorChallenge);
  const unlock::Code expected = code_from_hex(kVectorResponse);
  EXPECT_NE(unlock::compute_response(key, kVectorSerial + 1, challenge), expected);
  unlock::Code other = challenge;
  other[9] ^= 0x01;
  EXPECT_NE(unlock::compute_response(key, kVectorSerial, other), expected);
  EXPECT_NE(unlock::derive_unlock_key(vector_master_key(), kVectorSerial + 1),
            from_hex(kVectorUnlockKey));
}

TEST(UnlockVectors, WrongKeyLengths_AreRejected) {
  EXPECT_THROW(unlock::derive_unlock_key(Bytes(16, 0x00), kVectorSerial), Error);
  EXPECT_THROW(unlock::compute_response(Bytes(16, 0x00), kVectorSerial, unlock::Code{}), Error);
}

// ---- encoding ------------------------------------------------------------------------------

std::vector<unlock::Code> sample_codes() {
  std::vector<unlock::Code> codes;
  codes.push_back(unlock::Code{});
  unlock::Code ones{};
  ones.fill(0xFF);
  codes.push_back(ones);
  codes.push_back(code_from_hex(kVectorChallenge));
  codes.push_back(code_from_hex(kVectorResponse));
  for (std::size_t bit = 0; bit < 80; ++bit) {  // every single bit: catches shifted bit order
    unlock::Code c{};
    c[bit / 8] = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    codes.push_back(c);
  }
  std::uint32_t state = 0x12345678;  // fixed pseudo-random values (xorshift32)
  for (int n = 0; n < 200; ++n) {
    unlock::Code c{};
    for (auto& b : c) {
      state ^= state << 13;
      state ^= state >> 17;
      state ^= state << 5;
      b = static_cast<std::uint8_t>(state);
    }
    codes.push_back(c);
  }
  return codes;
}

TEST(UnlockCode, EncodeDecode_RoundTrips) {
  for (const unlock::Code& code : sample_codes()) {
    std::string text = unlock::encode(code);
    EXPECT_EQ(unlock::decode(text), code) << text;
  }
}

TEST(UnlockCode, Encode_IsFourGroupsOfFiveFromTheAlphabet) {
  for (const unlock::Code& code : sample_codes()) {
    std::string text = unlock::encode(code);
    ASSERT_EQ(text.size(), 23u) << text;
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (i % 6 == 5) {
        EXPECT_EQ(text[i], '-') << text;
      } else {
        EXPECT_NE(std::string(kAlphabet).find(text[i]), std::string::npos) << text;
      }
    }
  }
}

TEST(UnlockCode, KnownEncodings) {
  unlock::Code ones{};
  ones.fill(0xFF);
  EXPECT_EQ(unlock::encode(unlock::Code{}), "22222-2222Y-2222W-2222U");
  EXPECT_EQ(unlock::encode(ones), "ZZZZ6-ZZZZ4-ZZZZ2-ZZZZY");
}

TEST(UnlockCode, Decode_IgnoresCaseSpacesAndDashes) {
  const unlock::Code expected = code_from_hex(kVectorChallenge);
  for (const char* text :
       {"n4ju5-7ax66-nqmcn-hc7b2", "N4JU5 7AX66 NQMCN HC7B2", "n4Ju57Ax66NqMcNhC7b2",
        "  N4JU 5-7AX 66 -NQMCN--HC7B2 ", "N4JU5-7AX66 nqmcn hc7b2"}) {
    EXPECT_EQ(unlock::decode(text), expected) << text;
  }
}

TEST(UnlockCode, WrongCharacter_NamesItsGroup) {
  const std::string good = kVectorResponseCode;
  for (std::size_t pos = 0; pos < good.size(); ++pos) {
    if (good[pos] == '-') continue;
    const std::string group = "group " + std::to_string(pos / 6 + 1) + " ";
    for (const char* c = kAlphabet; *c; ++c) {
      if (*c == good[pos]) continue;
      std::string bad = good;
      bad[pos] = *c;
      std::string error = decode_error(bad);
      EXPECT_NE(error.find(group), std::string::npos) << bad << ": " << error;
    }
  }
}

TEST(UnlockCode, NonAlphabetCharacter_IsNamedInTheError) {
  const std::string good = kVectorChallengeCode;
  for (char c : {'0', 'O', 'I', '1', 'o', 'i', '#'}) {
    std::string bad = good;
    bad[7] = c;
    std::string error = decode_error(bad);
    EXPECT_NE(error.find(std::string("'") + c + "' is not a code character"), std::string::npos)
        << bad << ": " << error;
  }
}

TEST(UnlockCode, SwappedGroups_AreDetected) {
  const std::string good = kVectorResponseCode;
  for (std::size_t a = 0; a < 4; ++a) {
    for (std::size_t b = a + 1; b < 4; ++b) {
      std::string bad = good;
      for (std::size_t k = 0; k < 5; ++k) std::swap(bad[a * 6 + k], bad[b * 6 + k]);
      // The first group out of place is the first to fail its check.
      std::string error = decode_error(bad);
      EXPECT_NE(error.find("group " + std::to_string(a + 1) + " "), std::string::npos)
          << bad << ": " << error;
    }
  }
}

TEST(UnlockCode, WrongLength_IsRefused) {
  const std::string good = kVectorChallengeCode;
  EXPECT_NE(decode_error(good.substr(0, good.size() - 1)).find("20 characters"), std::string::npos);
  EXPECT_NE(decode_error(good + "2").find("20 characters"), std::string::npos);
  EXPECT_NE(decode_error("").find("20 characters"), std::string::npos);
}

// ---- PIN block -----------------------------------------------------------------------------

TEST(PinBlock, PadsWithFF) {
  EXPECT_EQ(pin_block("123456"), (Bytes{'1', '2', '3', '4', '5', '6', 0xFF, 0xFF}));
  EXPECT_EQ(pin_block("1234567"), (Bytes{'1', '2', '3', '4', '5', '6', '7', 0xFF}));
  EXPECT_EQ(pin_block("12345678"), (Bytes{'1', '2', '3', '4', '5', '6', '7', '8'}));
}

TEST(PinBlock, RejectsFiveAndNineCharacters) {
  for (const char* pin : {"12345", "123456789", ""}) {
    try {
      pin_block(pin);
      ADD_FAILURE() << "accepted '" << pin << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::bad_input) << pin;
    }
  }
}

}  // namespace
}  // namespace certkey::card
