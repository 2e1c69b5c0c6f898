// BER-TLV reading and writing (agent/protocol/src/tlv.cpp): one- and two-byte tags, short and 81/82
// lengths, truncated input, and the writer's overflow on a fixed buffer. Inputs are exactly
// sized vectors so that ASan reports any read past their end.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include <certkey/protocol/tlv.hpp>

namespace certkey::protocol {
namespace {

using Buffer = std::vector<std::uint8_t>;

Bytes view(const Buffer& b) { return Bytes(b.data(), b.size()); }
Buffer copy(Bytes b) { return Buffer(b.begin(), b.end()); }

Buffer concat(std::initializer_list<Buffer> parts) {
  Buffer out;
  for (const Buffer& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Buffer pattern(std::size_t n) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return b;
}

// Reads every TLV of `data`; true when the whole input parsed.
bool read_all(const Buffer& data, std::vector<Tlv>& out) {
  TlvReader reader(view(data));
  Tlv tlv;
  while (reader.next(tlv)) out.push_back(tlv);
  return !reader.failed() && reader.at_end();
}

// ---- TlvReader ---------------------------------------------------------------------------

TEST(TlvReader, OneByteTags_ReadInOrder) {
  const Buffer data = {0x80, 0x01, 0x11, 0x81, 0x00, 0x82, 0x02, 0xAA, 0xBB};
  std::vector<Tlv> tlvs;
  ASSERT_TRUE(read_all(data, tlvs));
  ASSERT_EQ(tlvs.size(), 3u);
  EXPECT_EQ(tlvs[0].tag, 0x80);
  EXPECT_EQ(copy(tlvs[0].value), Buffer({0x11}));
  EXPECT_EQ(copy(tlvs[0].whole), Buffer({0x80, 0x01, 0x11}));
  EXPECT_EQ(tlvs[1].tag, 0x81);
  EXPECT_TRUE(tlvs[1].value.empty());
  EXPECT_EQ(tlvs[2].tag, 0x82);
  EXPECT_EQ(copy(tlvs[2].value), Buffer({0xAA, 0xBB}));
}

TEST(TlvReader, TwoByteTag_CombinedBigEndian) {
  const Buffer data = {0x7F, 0x49, 0x03, 0x86, 0x01, 0x04, 0x5F, 0x2F, 0x02, 0x40, 0x00};
  std::vector<Tlv> tlvs;
  ASSERT_TRUE(read_all(data, tlvs));
  ASSERT_EQ(tlvs.size(), 2u);
  EXPECT_EQ(tlvs[0].tag, 0x7F49);
  EXPECT_EQ(copy(tlvs[0].value), Buffer({0x86, 0x01, 0x04}));
  EXPECT_EQ(tlvs[0].whole.size(), 6u);
  EXPECT_EQ(tlvs[1].tag, 0x5F2F);
  EXPECT_EQ(copy(tlvs[1].value), Buffer({0x40, 0x00}));
}

TEST(TlvReader, Length81_OneLengthByte) {
  const Buffer value = pattern(0xC8);
  const Buffer data = concat({{0x53, 0x81, 0xC8}, value});
  std::vector<Tlv> tlvs;
  ASSERT_TRUE(read_all(data, tlvs));
  ASSERT_EQ(tlvs.size(), 1u);
  EXPECT_EQ(copy(tlvs[0].value), value);
  EXPECT_EQ(tlvs[0].whole.size(), data.size());
}

TEST(TlvReader, Length82_TwoLengthBytes) {
  const Buffer value = pattern(0x0FA0);
  const Buffer data = concat({{0x53, 0x82, 0x0F, 0xA0}, value, {0x01, 0x00}});
  std::vector<Tlv> tlvs;
  ASSERT_TRUE(read_all(data, tlvs));
  ASSERT_EQ(tlvs.size(), 2u);
  EXPECT_EQ(copy(tlvs[0].value), value);
  EXPECT_EQ(tlvs[1].tag, 0x01);
}

TEST(TlvReader, EmptyInput_EndsWithoutFailure) {
  const Buffer data;
  TlvReader reader(view(data));
  Tlv tlv;
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_FALSE(reader.failed());
  EXPECT_TRUE(reader.at_end());
}

TEST(TlvReader, TruncatedTwoByteTag_Fails) {
  const Buffer data = {0x5F};
  TlvReader reader(view(data));
  Tlv tlv;
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_TRUE(reader.failed());
}

TEST(TlvReader, TagLongerThanTwoBytes_Fails) {
  const Buffer data = {0x5F, 0xC1, 0x05, 0x00};  // 5F C1 .. continues into a third tag byte
  TlvReader reader(view(data));
  Tlv tlv;
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_TRUE(reader.failed());
}

TEST(TlvReader, MissingLength_Fails) {
  const Buffer data = {0x53};
  TlvReader reader(view(data));
  Tlv tlv;
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_TRUE(reader.failed());
}

TEST(TlvReader, TruncatedLength81_Fails) {
  const Buffer data = {0x53, 0x81};
  TlvReader reader(view(data));
  Tlv tlv;
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_TRUE(reader.failed());
}

TEST(TlvReader, TruncatedLength82_Fails) {
  const Buffer data = {0x53, 0x82, 0x01};
  TlvReader reader(view(data));
  Tlv tlv;
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_TRUE(reader.failed());
}

TEST(TlvReader, ValueShorterThanLength_Fails) {
  const Buffer data = {0x53, 0x82, 0x01, 0x00, 0xAA, 0xBB};
  TlvReader reader(view(data));
  Tlv tlv;
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_TRUE(reader.failed());
}

TEST(TlvReader, LongerLengthForms_Fail) {
  for (std::uint8_t form : Buffer{0x83, 0x84, 0xFF}) {
    const Buffer data = {0x53, form, 0x00, 0x00, 0x01, 0xAA};
    TlvReader reader(view(data));
    Tlv tlv;
    EXPECT_FALSE(reader.next(tlv)) << "length byte " << int{form};
    EXPECT_TRUE(reader.failed());
  }
}

TEST(TlvReader, IndefiniteLength80_Fails) {
  // 80 is the BER indefinite form, which the reader does not support: not a length of 128.
  Buffer data = {0x53, 0x80};
  data.resize(2 + 0x80, 0xAA);
  TlvReader reader(view(data));
  Tlv tlv;
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_TRUE(reader.failed());
}

TEST(TlvReader, FailureIsSticky) {
  const Buffer data = {0x80, 0x05, 0x01};
  TlvReader reader(view(data));
  Tlv tlv;
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_TRUE(reader.failed());
}

TEST(TlvReader, GoodThenTruncated_YieldsGoodOneThenFails) {
  const Buffer data = {0x80, 0x01, 0x11, 0x81, 0x03, 0x01};
  TlvReader reader(view(data));
  Tlv tlv;
  ASSERT_TRUE(reader.next(tlv));
  EXPECT_EQ(tlv.tag, 0x80);
  EXPECT_FALSE(reader.next(tlv));
  EXPECT_TRUE(reader.failed());
}

// ---- find_tlv / expect_single_tlv --------------------------------------------------------

TEST(FindTlv, FindsTagOnTopLevelOnly) {
  const Buffer data = {0x7C, 0x04, 0x81, 0x02, 0xAA, 0xBB, 0x81, 0x01, 0xCC};
  Tlv found;
  ASSERT_TRUE(find_tlv(view(data), 0x81, found));
  EXPECT_EQ(copy(found.value), Buffer({0xCC}));  // not the 81 nested inside 7C
}

TEST(FindTlv, FindsTwoByteTag) {
  const Buffer data = {0x01, 0x01, 0x00, 0x7F, 0x49, 0x01, 0x99};
  Tlv found;
  ASSERT_TRUE(find_tlv(view(data), 0x7F49, found));
  EXPECT_EQ(copy(found.value), Buffer({0x99}));
}

TEST(FindTlv, AbsentTag_ReturnsFalse) {
  const Buffer data = {0x01, 0x01, 0x00};
  Tlv found;
  EXPECT_FALSE(find_tlv(view(data), 0x02, found));
}

TEST(FindTlv, TagAfterMalformedEncoding_NotFound) {
  const Buffer data = {0x01, 0x81, 0x02};  // truncated 81 length
  Tlv found;
  EXPECT_FALSE(find_tlv(view(data), 0x01, found));
}

TEST(ExpectSingleTlv, ExactlyOneTlv_YieldsValue) {
  const Buffer data = {0x5C, 0x03, 0x5F, 0xC1, 0x05};
  Bytes value;
  ASSERT_TRUE(expect_single_tlv(view(data), 0x5C, value));
  EXPECT_EQ(copy(value), Buffer({0x5F, 0xC1, 0x05}));
}

TEST(ExpectSingleTlv, TrailingBytes_Rejected) {
  const Buffer data = {0x5C, 0x01, 0x7E, 0x00};
  Bytes value;
  EXPECT_FALSE(expect_single_tlv(view(data), 0x5C, value));
}

TEST(ExpectSingleTlv, OtherTag_Rejected) {
  const Buffer data = {0x53, 0x01, 0x7E};
  Bytes value;
  EXPECT_FALSE(expect_single_tlv(view(data), 0x5C, value));
}

TEST(TlvHeaderSize, CountsTagAndLengthBytes) {
  EXPECT_EQ(tlv_header_size(0x53, 0), 2u);
  EXPECT_EQ(tlv_header_size(0x53, 0x7F), 2u);
  EXPECT_EQ(tlv_header_size(0x53, 0x80), 3u);
  EXPECT_EQ(tlv_header_size(0x53, 0xFF), 3u);
  EXPECT_EQ(tlv_header_size(0x53, 0x100), 4u);
  EXPECT_EQ(tlv_header_size(0x7F49, 0x7F), 3u);
  EXPECT_EQ(tlv_header_size(0x7F49, 0x109), 5u);
}

// ---- TlvWriter ---------------------------------------------------------------------------

TEST(TlvWriter, ShortLength_OneByteHeader) {
  std::uint8_t buffer[16];
  TlvWriter w(MutableBytes(buffer, sizeof buffer));
  w.put(0x80, Buffer({0x01, 0x02}));
  w.put_u8(0x06, 0x09);
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(copy(w.written()), Buffer({0x80, 0x02, 0x01, 0x02, 0x06, 0x01, 0x09}));
}

TEST(TlvWriter, TwoByteTag) {
  std::uint8_t buffer[8];
  TlvWriter w(MutableBytes(buffer, sizeof buffer));
  w.put_header(0x7F49, 3);
  EXPECT_EQ(copy(w.written()), Buffer({0x7F, 0x49, 0x03}));
}

TEST(TlvWriter, Length81) {
  const Buffer value = pattern(0x80);
  std::vector<std::uint8_t> buffer(3 + value.size());
  TlvWriter w(MutableBytes(buffer.data(), buffer.size()));
  w.put(0x53, view(value));
  ASSERT_FALSE(w.overflowed());
  EXPECT_EQ(copy(w.written()), concat({{0x53, 0x81, 0x80}, value}));
}

TEST(TlvWriter, Length82) {
  const Buffer value = pattern(0x0FA0);
  std::vector<std::uint8_t> buffer(4 + value.size());
  TlvWriter w(MutableBytes(buffer.data(), buffer.size()));
  w.put(0x53, view(value));
  ASSERT_FALSE(w.overflowed());
  EXPECT_EQ(copy(w.written()), concat({{0x53, 0x82, 0x0F, 0xA0}, value}));
}

TEST(TlvWriter, ExactFit_NoOverflow) {
  std::uint8_t buffer[4];
  TlvWriter w(MutableBytes(buffer, sizeof buffer));
  w.put(0x81, Buffer({0xAA, 0xBB}));
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(w.size(), 4u);
}

TEST(TlvWriter, Overflow_SetsFlagAndWritesNothingFurther) {
  std::uint8_t buffer[6] = {};
  TlvWriter w(MutableBytes(buffer, sizeof buffer));
  w.put(0x80, Buffer({0x01, 0x02}));
  w.put(0x81, Buffer({0x03, 0x04, 0x05}));  // needs 5 bytes, 2 are left
  EXPECT_TRUE(w.overflowed());
  const std::size_t after_overflow = w.size();
  EXPECT_LE(after_overflow, sizeof buffer);
  w.put_u8(0x82, 0x06);  // would fit in what is left, but nothing more is written
  w.put_raw(Buffer({0x07}));
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.size(), after_overflow);
  EXPECT_EQ(Buffer(buffer, buffer + 4), Buffer({0x80, 0x02, 0x01, 0x02}));
}

TEST(TlvWriter, LengthAbove65535_Overflows) {
  std::uint8_t buffer[8];
  TlvWriter w(MutableBytes(buffer, sizeof buffer));
  w.put_header(0x53, 0x10000);
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.size(), 0u);
}

TEST(TlvWriter, EmptyBuffer_OverflowsOnFirstByte) {
  TlvWriter w{MutableBytes()};
  w.put_u8(0x01, 0x00);
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.size(), 0u);
}

TEST(TlvRoundTrip, WriterOutputReadsBack) {
  const Buffer big = pattern(300);
  std::vector<std::uint8_t> buffer(512);
  TlvWriter w(MutableBytes(buffer.data(), buffer.size()));
  w.put_u8(0x01, 0x11);
  w.put(0x7F49, view(big));
  w.put(0x5F2F, Buffer({0x40, 0x00}));
  ASSERT_FALSE(w.overflowed());
  const Buffer written = copy(w.written());
  std::vector<Tlv> tlvs;
  ASSERT_TRUE(read_all(written, tlvs));
  ASSERT_EQ(tlvs.size(), 3u);
  EXPECT_EQ(tlvs[1].tag, 0x7F49);
  EXPECT_EQ(copy(tlvs[1].value), big);
  EXPECT_EQ(tlvs[2].tag, 0x5F2F);
}

}  // namespace
}  // namespace certkey::protocol
