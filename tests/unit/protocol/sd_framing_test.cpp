// SD KEY command-file format (docs/sdkey.md): the codec the token's file channel and the
// host driver share.
#include <certkey/protocol/sd_framing.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace certkey::protocol {
namespace {

using Buffer = std::vector<std::uint8_t>;

Buffer pattern(std::size_t n) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 13 + 5);
  return b;
}

TEST(SdCommand, RoundTrip_IsBlockAlignedAndChecked) {
  for (std::size_t n : {std::size_t{4}, std::size_t{492}, std::size_t{493}, sd::kMaxCommand}) {
    Buffer apdu = pattern(n), out(sd::kCommandArea);
    std::size_t written =
        encode_sd_command(7, Bytes(apdu.data(), n), MutableBytes(out.data(), out.size()));
    ASSERT_GT(written, 0u);
    EXPECT_EQ(written % sd::kBlockSize, 0u);
    std::uint32_t sequence = 0;
    Bytes parsed;
    ASSERT_TRUE(parse_sd_command(Bytes(out.data(), written), sequence, parsed));
    EXPECT_EQ(sequence, 7u);
    EXPECT_EQ(Buffer(parsed.begin(), parsed.end()), apdu);
  }
}

TEST(SdCommand, CorruptedOrTruncated_IsRejected) {
  Buffer apdu = pattern(600), out(sd::kCommandArea);
  std::size_t written =
      encode_sd_command(1, Bytes(apdu.data(), apdu.size()), MutableBytes(out.data(), out.size()));
  std::uint32_t sequence;
  Bytes parsed;
  Buffer flipped = out;
  flipped[sd::kCommandHeader + 100] ^= 1;
  EXPECT_FALSE(parse_sd_command(Bytes(flipped.data(), written), sequence, parsed));
  EXPECT_FALSE(parse_sd_command(Bytes(out.data(), sd::kBlockSize), sequence,
                                parsed));  // only the first block
  Buffer too_long(sd::kMaxCommand + 1);
  EXPECT_EQ(encode_sd_command(1, Bytes(too_long.data(), too_long.size()),
                              MutableBytes(out.data(), out.size())),
            0u);
}

// A response of any size splits into fragments that reassemble to it.
TEST(SdFragment, Response_SplitsAndReassembles) {
  for (std::size_t n :
       {std::size_t{2}, sd::kFragmentData, sd::kFragmentData + 1, sd::kMaxResponse}) {
    Buffer response = pattern(n), assembled;
    Buffer fragment(sd::kFragmentSize);
    for (std::uint8_t i = 0;; ++i) {
      ASSERT_TRUE(encode_sd_fragment(9, false, Bytes(response.data(), n), i,
                                     MutableBytes(fragment.data(), fragment.size())));
      SdFragment f;
      ASSERT_TRUE(parse_sd_fragment(Bytes(fragment.data(), fragment.size()), f));
      EXPECT_EQ(f.sequence, 9u);
      EXPECT_EQ(f.index, i);
      assembled.insert(assembled.end(), f.data.begin(), f.data.end());
      if (i + 1 == f.count) break;
    }
    EXPECT_EQ(assembled, response);
  }
}

TEST(SdFragment, BusyMarker_CarriesNoData) {
  Buffer fragment(sd::kFragmentSize);
  ASSERT_TRUE(
      encode_sd_fragment(3, true, Bytes(), 0, MutableBytes(fragment.data(), fragment.size())));
  SdFragment f;
  ASSERT_TRUE(parse_sd_fragment(Bytes(fragment.data(), fragment.size()), f));
  EXPECT_EQ(f.status, sd::Status::busy);
  EXPECT_TRUE(f.data.empty());
}

// A card pulled mid-read leaves a torn fragment: half written, or erased. Both fail cleanly.
TEST(SdFragment, TornOrStaleRead_IsRejected) {
  Buffer response = pattern(3000), fragment(sd::kFragmentSize);
  // Fragment 0 is full of data, so its second half is response bytes, covered by the CRC.
  ASSERT_TRUE(encode_sd_fragment(5, false, Bytes(response.data(), response.size()), 0,
                                 MutableBytes(fragment.data(), fragment.size())));
  Buffer torn = fragment;
  for (std::size_t i = sd::kFragmentSize / 2; i < torn.size(); ++i) torn[i] = 0xFF;
  SdFragment f;
  EXPECT_FALSE(parse_sd_fragment(Bytes(torn.data(), torn.size()), f));
  Buffer zeros(sd::kFragmentSize, 0);
  EXPECT_FALSE(parse_sd_fragment(Bytes(zeros.data(), zeros.size()), f));
  Buffer bad_count = fragment;
  bad_count[14] = 7;  // the count must match the total length
  EXPECT_FALSE(parse_sd_fragment(Bytes(bad_count.data(), bad_count.size()), f));
  EXPECT_FALSE(encode_sd_fragment(5, false, Bytes(response.data(), response.size()), 2,
                                  MutableBytes(fragment.data(), fragment.size())));
}

}  // namespace
}  // namespace certkey::protocol
