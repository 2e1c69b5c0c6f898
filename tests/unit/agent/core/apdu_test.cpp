// parse_command_apdu (agent/core/apdu.cpp): ISO 7816-3 12.1 cases 1-4, short and extended.
// Every input is an exactly sized std::vector, so ASan reports any read past its end.
#include <gtest/gtest.h>

#include <certkey/protocol/ins.hpp>
#include <cstdint>
#include <vector>

#include "core/apdu.hpp"

namespace certkey::agent {
namespace {

using Buffer = std::vector<std::uint8_t>;

Bytes view(const Buffer& b) { return Bytes(b.data(), b.size()); }

Buffer filled(std::size_t n, std::uint8_t first = 0) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(first + i);
  return b;
}

Buffer concat(std::initializer_list<Buffer> parts) {
  Buffer out;
  for (const Buffer& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

bool same(Bytes a, const Buffer& b) { return Buffer(a.begin(), a.end()) == b; }

TEST(ParseApdu, Case1_HeaderOnly) {
  const Buffer raw = {0x00, 0xA4, 0x04, 0x00};
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_EQ(apdu.cla, 0x00);
  EXPECT_EQ(apdu.ins, 0xA4);
  EXPECT_EQ(apdu.p1, 0x04);
  EXPECT_EQ(apdu.p2, 0x00);
  EXPECT_TRUE(apdu.data.empty());
  EXPECT_EQ(apdu.ne, 0u);
  EXPECT_FALSE(apdu.extended);
}

TEST(ParseApdu, Case2S_LeZeroMeans256) {
  const Buffer raw = {0x00, 0xCB, 0x3F, 0xFF, 0x00};
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(apdu.data.empty());
  EXPECT_EQ(apdu.ne, 256u);
  EXPECT_FALSE(apdu.extended);
}

TEST(ParseApdu, Case2S_ExplicitLe) {
  const Buffer raw = {0x00, 0xFD, 0x00, 0x00, 0x03};
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(apdu.data.empty());
  EXPECT_EQ(apdu.ne, 3u);
}

TEST(ParseApdu, Case3S_DataWithoutLe) {
  const Buffer data = filled(8, 0x31);
  const Buffer raw = concat({{0x00, 0x20, 0x00, 0x80, 0x08}, data});
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(same(apdu.data, data));
  EXPECT_EQ(apdu.ne, 0u);
  EXPECT_FALSE(apdu.extended);
}

TEST(ParseApdu, Case3S_MaximumLc) {
  const Buffer data = filled(255);
  const Buffer raw = concat({{0x00, 0xDB, 0x3F, 0xFF, 0xFF}, data});
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(same(apdu.data, data));
  EXPECT_EQ(apdu.ne, 0u);
}

TEST(ParseApdu, Case4S_DataAndLe) {
  const Buffer data = filled(3, 0x5C);
  const Buffer raw = concat({{0x00, 0xCB, 0x3F, 0xFF, 0x03}, data, {0x00}});
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(same(apdu.data, data));
  EXPECT_EQ(apdu.ne, 256u);
  EXPECT_FALSE(apdu.extended);
}

TEST(ParseApdu, Case4S_MaximumLcWithExplicitLe) {
  const Buffer data = filled(255);
  const Buffer raw = concat({{0x00, 0x87, 0x11, 0x9A, 0xFF}, data, {0x40}});
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(same(apdu.data, data));
  EXPECT_EQ(apdu.ne, 0x40u);
}

TEST(ParseApdu, Case2E_Le0000Means65536) {
  const Buffer raw = {0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x00};
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(apdu.data.empty());
  EXPECT_EQ(apdu.ne, 65536u);
  EXPECT_TRUE(apdu.extended);
}

TEST(ParseApdu, Case2E_ExplicitLe) {
  const Buffer raw = {0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x01, 0x02};
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(apdu.data.empty());
  EXPECT_EQ(apdu.ne, 0x0102u);
  EXPECT_TRUE(apdu.extended);
}

TEST(ParseApdu, Case3E_DataLongerThanShortLimit) {
  const Buffer data = filled(300);
  const Buffer raw = concat({{0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x01, 0x2C}, data});
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(same(apdu.data, data));
  EXPECT_EQ(apdu.ne, 0u);
  EXPECT_TRUE(apdu.extended);
}

TEST(ParseApdu, Case3E_OneByteOfData) {
  const Buffer raw = {0x00, 0x20, 0x00, 0x80, 0x00, 0x00, 0x01, 0xAB};
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(same(apdu.data, {0xAB}));
  EXPECT_TRUE(apdu.extended);
}

TEST(ParseApdu, Case4E_DataAndLe0000) {
  const Buffer data = filled(262);
  const Buffer raw = concat({{0x00, 0x87, 0x07, 0x9A, 0x00, 0x01, 0x06}, data, {0x00, 0x00}});
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(same(apdu.data, data));
  EXPECT_EQ(apdu.ne, 65536u);
  EXPECT_TRUE(apdu.extended);
}

TEST(ParseApdu, Case4E_ExplicitLe) {
  const Buffer data = filled(2);
  const Buffer raw = concat({{0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x02}, data, {0x10, 0x00}});
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(same(apdu.data, data));
  EXPECT_EQ(apdu.ne, 0x1000u);
}

TEST(ParseApdu, Malformed_ShorterThanHeader) {
  for (std::size_t n = 0; n < 4; ++n) {
    const Buffer raw = filled(n);
    CommandApdu apdu;
    EXPECT_FALSE(parse_command_apdu(view(raw), apdu)) << n << " bytes";
  }
}

TEST(ParseApdu, Malformed_ShortLcLongerThanData) {
  const Buffer raw = concat({{0x00, 0x20, 0x00, 0x80, 0x08}, filled(7)});
  CommandApdu apdu;
  EXPECT_FALSE(parse_command_apdu(view(raw), apdu));
}

TEST(ParseApdu, Malformed_ShortDataLongerThanLcPlusLe) {
  const Buffer raw = concat({{0x00, 0x20, 0x00, 0x80, 0x08}, filled(10)});
  CommandApdu apdu;
  EXPECT_FALSE(parse_command_apdu(view(raw), apdu));
}

TEST(ParseApdu, Malformed_SixBytesWithZeroLcByte_RejectedWithoutOverRead) {
  // P3 = 00 opens an extended length that needs two more bytes; only one follows. Reading the
  // extended Lc here would read past the end of the command (ASan would report it).
  const Buffer raw = {0x00, 0xA4, 0x04, 0x00, 0x00, 0x01};
  CommandApdu apdu;
  EXPECT_FALSE(parse_command_apdu(view(raw), apdu));
}

TEST(ParseApdu, Malformed_ExtendedLcZeroWithData) {
  const Buffer raw = {0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x00, 0x00, 0x01};
  CommandApdu apdu;
  EXPECT_FALSE(parse_command_apdu(view(raw), apdu));
}

TEST(ParseApdu, Malformed_ExtendedLcLongerThanData) {
  const Buffer raw = concat({{0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x01, 0x00}, filled(255)});
  CommandApdu apdu;
  EXPECT_FALSE(parse_command_apdu(view(raw), apdu));
}

TEST(ParseApdu, Malformed_ExtendedWithOneLeByte) {
  const Buffer raw = concat({{0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x00, 0x02}, filled(2), {0x00}});
  CommandApdu apdu;
  EXPECT_FALSE(parse_command_apdu(view(raw), apdu));
}

TEST(ParseApdu, Malformed_ExtendedWithTrailingBytes) {
  const Buffer raw = concat({{0x00, 0xDB, 0x3F, 0xFF, 0x00, 0x00, 0x02}, filled(2), {0, 0, 0}});
  CommandApdu apdu;
  EXPECT_FALSE(parse_command_apdu(view(raw), apdu));
}

TEST(ParseApdu, ClaBits_ChainingChannelAndClass) {
  const Buffer raw = {0x13, 0xDB, 0x3F, 0xFF};
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(raw), apdu));
  EXPECT_TRUE(apdu.chained());
  EXPECT_EQ(apdu.channel(), 3);
  EXPECT_EQ(apdu.cla_class(), protocol::kClaIso);

  const Buffer proprietary = {protocol::kClaCertkey, 0xD0, 0x00, 0x00};
  ASSERT_TRUE(parse_command_apdu(view(proprietary), apdu));
  EXPECT_FALSE(apdu.chained());
  EXPECT_EQ(apdu.channel(), 0);
  EXPECT_EQ(apdu.cla_class(), protocol::kClaCertkey);
}

TEST(ParseApdu, Reparse_ClearsPreviousFields) {
  const Buffer with_data = {0x00, 0x20, 0x00, 0x80, 0x01, 0x31, 0x00};
  const Buffer header_only = {0x00, 0x20, 0x00, 0x80};
  CommandApdu apdu;
  ASSERT_TRUE(parse_command_apdu(view(with_data), apdu));
  ASSERT_TRUE(parse_command_apdu(view(header_only), apdu));
  EXPECT_TRUE(apdu.data.empty());
  EXPECT_EQ(apdu.ne, 0u);
}

}  // namespace
}  // namespace certkey::agent
