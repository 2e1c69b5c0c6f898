// HID framing (docs/hid.md): the codec the USB KEY firmware and its host driver share.
#include <certkey/protocol/hid_framing.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace certkey::protocol {
namespace {

using Buffer = std::vector<std::uint8_t>;
using Result = HidAssembler::Result;
constexpr std::uint32_t kChannel = 0x01020304;

std::vector<Buffer> segment(std::uint32_t channel, hid::Command command, const Buffer& message) {
  HidSegmenter segmenter;
  EXPECT_TRUE(segmenter.start(channel, command, Bytes(message.data(), message.size())));
  std::vector<Buffer> reports;
  Buffer report(hid::kReportSize);
  while (segmenter.next(MutableBytes(report.data(), report.size()))) reports.push_back(report);
  return reports;
}

Buffer pattern(std::size_t n) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return b;
}

// Every length from empty to the largest APDU survives segmenting and reassembly.
TEST(HidFraming, RoundTrip_AllLengthsAtFrameBoundaries) {
  for (std::size_t n :
       {std::size_t{0}, std::size_t{1}, hid::kInitialData, hid::kInitialData + 1,
        hid::kInitialData + hid::kContinuationData, std::size_t{2000}, hid::kMaxMessage}) {
    Buffer message = pattern(n);
    std::vector<Buffer> reports = segment(kChannel, hid::Command::msg, message);
    EXPECT_EQ(reports.size(), n <= hid::kInitialData
                                  ? 1
                                  : 1 + (n - hid::kInitialData + hid::kContinuationData - 1) /
                                            hid::kContinuationData);
    HidAssembler assembler;
    Result r = Result::incomplete;
    for (const Buffer& report : reports) r = assembler.feed(Bytes(report.data(), report.size()));
    ASSERT_EQ(r, Result::complete) << n;
    EXPECT_EQ(Buffer(assembler.message().begin(), assembler.message().end()), message);
    EXPECT_EQ(assembler.channel(), kChannel);
  }
}

TEST(HidFraming, TooLongMessage_IsRefusedBySegmenterAndAssembler) {
  HidSegmenter segmenter;
  Buffer big(hid::kMaxMessage + 1);
  EXPECT_FALSE(segmenter.start(kChannel, hid::Command::msg, Bytes(big.data(), big.size())));
  Buffer report = segment(kChannel, hid::Command::msg, pattern(10))[0];
  report[5] = 0xFF;
  report[6] = 0xFF;
  HidAssembler assembler;
  EXPECT_EQ(assembler.feed(Bytes(report.data(), report.size())), Result::error);
  EXPECT_EQ(assembler.error(), hid::Error::invalid_length);
}

TEST(HidFraming, OutOfOrderContinuation_IsAnInvalidSequence) {
  std::vector<Buffer> reports = segment(kChannel, hid::Command::msg, pattern(300));
  ASSERT_GE(reports.size(), 3u);
  HidAssembler assembler;
  EXPECT_EQ(assembler.feed(Bytes(reports[0].data(), hid::kReportSize)), Result::incomplete);
  EXPECT_EQ(assembler.feed(Bytes(reports[2].data(), hid::kReportSize)), Result::error);
  EXPECT_EQ(assembler.error(), hid::Error::invalid_sequence);
  // The broken message is gone: its remaining continuations are ignored.
  EXPECT_EQ(assembler.feed(Bytes(reports[1].data(), hid::kReportSize)), Result::ignored);
}

TEST(HidFraming, OtherChannelDuringAMessage_IsBusyAndLeavesTheMessageIntact) {
  Buffer message = pattern(200);
  std::vector<Buffer> reports = segment(kChannel, hid::Command::msg, message);
  std::vector<Buffer> intruder = segment(0x0A0B0C0D, hid::Command::msg, pattern(5));
  HidAssembler assembler;
  assembler.feed(Bytes(reports[0].data(), hid::kReportSize));
  EXPECT_EQ(assembler.feed(Bytes(intruder[0].data(), hid::kReportSize)), Result::error);
  EXPECT_EQ(assembler.error(), hid::Error::busy);
  EXPECT_EQ(assembler.error_channel(), 0x0A0B0C0Du);
  Result r = Result::incomplete;
  for (std::size_t i = 1; i < reports.size(); ++i)
    r = assembler.feed(Bytes(reports[i].data(), hid::kReportSize));
  ASSERT_EQ(r, Result::complete);
  EXPECT_EQ(Buffer(assembler.message().begin(), assembler.message().end()), message);
}

TEST(HidFraming, KeepaliveErrorAndInit_HaveTheirOwnLengthsAndChannels) {
  HidAssembler assembler;
  Buffer keepalive = segment(kChannel, hid::Command::keepalive, {0x01})[0];
  EXPECT_EQ(assembler.feed(Bytes(keepalive.data(), hid::kReportSize)), Result::complete);
  EXPECT_EQ(assembler.command(), hid::Command::keepalive);
  Buffer long_error = segment(kChannel, hid::Command::error, {0x01, 0x02})[0];
  EXPECT_EQ(assembler.feed(Bytes(long_error.data(), hid::kReportSize)), Result::error);
  Buffer init =
      segment(hid::kBroadcastChannel, hid::Command::init, pattern(hid::kInitNonceLength))[0];
  EXPECT_EQ(assembler.feed(Bytes(init.data(), hid::kReportSize)), Result::complete);
  Buffer init_elsewhere = segment(kChannel, hid::Command::init, pattern(hid::kInitNonceLength))[0];
  EXPECT_EQ(assembler.feed(Bytes(init_elsewhere.data(), hid::kReportSize)), Result::error);
  EXPECT_EQ(assembler.error(), hid::Error::invalid_channel);
  Buffer unknown = keepalive;
  unknown[4] = 0x99;
  EXPECT_EQ(assembler.feed(Bytes(unknown.data(), hid::kReportSize)), Result::error);
  EXPECT_EQ(assembler.error(), hid::Error::invalid_command);
}

TEST(HidFraming, ReservedChannelAndShortReport_AreRejected) {
  HidAssembler assembler;
  Buffer report = segment(0, hid::Command::msg, pattern(3))[0];
  EXPECT_EQ(assembler.feed(Bytes(report.data(), hid::kReportSize)), Result::error);
  EXPECT_EQ(assembler.error(), hid::Error::invalid_channel);
  EXPECT_EQ(assembler.feed(Bytes(report.data(), hid::kReportSize - 1)), Result::error);
  EXPECT_EQ(assembler.error(), hid::Error::invalid_length);
}

}  // namespace
}  // namespace certkey::protocol
