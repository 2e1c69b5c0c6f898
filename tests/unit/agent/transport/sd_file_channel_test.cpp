// The token's side of the SD KEY command file (agent/transport/sd_file_channel.*): what the
// card answers to the host's block writes and reads.
#include "transport/sd_file_channel.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace certkey::agent::transport {
namespace {

using Buffer = std::vector<std::uint8_t>;
using protocol::encode_sd_command;
using protocol::parse_sd_fragment;
using protocol::SdFragment;

Buffer command(std::uint32_t sequence, const Buffer& apdu) {
  Buffer out(sd::kCommandArea);
  out.resize(encode_sd_command(sequence, Bytes(apdu.data(), apdu.size()),
                               MutableBytes(out.data(), out.size())));
  return out;
}

SdFragment read_fragment(const SdFileChannel& channel, std::size_t index, Buffer& storage) {
  storage.assign(sd::kFragmentSize, 0xEE);
  channel.read(sd::kResponseOffset + index * sd::kFragmentSize,
               MutableBytes(storage.data(), storage.size()));
  SdFragment fragment;
  EXPECT_TRUE(parse_sd_fragment(Bytes(storage.data(), storage.size()), fragment));
  return fragment;
}

TEST(SdFileChannel, ACommandIsBusyUntilCompleted_ThenItsResponseIsReadInFragments) {
  SdFileChannel channel;
  const Buffer apdu = {0x00, 0xA4, 0x04, 0x00, 0x01, 0xA0};
  const Buffer written = command(41, apdu);
  ASSERT_EQ(channel.write(0, Bytes(written.data(), written.size())), SdFileChannel::Event::apdu);
  EXPECT_EQ(Buffer(channel.apdu().begin(), channel.apdu().end()), apdu);

  Buffer storage;
  SdFragment busy = read_fragment(channel, 0, storage);
  EXPECT_EQ(busy.status, sd::Status::busy);
  EXPECT_EQ(busy.sequence, 41u);

  Buffer response(3000);
  for (std::size_t i = 0; i < response.size(); ++i) response[i] = static_cast<std::uint8_t>(i);
  channel.complete(Bytes(response.data(), response.size()));
  EXPECT_FALSE(channel.pending());
  Buffer reassembled;
  SdFragment first = read_fragment(channel, 0, storage);
  ASSERT_EQ(first.status, sd::Status::ready);
  ASSERT_EQ(first.count, 2);
  reassembled.insert(reassembled.end(), first.data.begin(), first.data.end());
  Buffer storage2;
  SdFragment second = read_fragment(channel, 1, storage2);
  reassembled.insert(reassembled.end(), second.data.begin(), second.data.end());
  EXPECT_EQ(reassembled, response);
}

TEST(SdFileChannel, AnEmptyCommandIsAReset) {
  SdFileChannel channel;
  const Buffer written = command(1, {});
  EXPECT_EQ(channel.write(0, Bytes(written.data(), written.size())), SdFileChannel::Event::reset);
  channel.complete(Bytes());
  Buffer storage;
  SdFragment done = read_fragment(channel, 0, storage);
  EXPECT_EQ(done.status, sd::Status::ready);
  EXPECT_EQ(done.total_length, 0);
}

TEST(SdFileChannel, PartialCorruptOrMisplacedWrites_AreNotCommands) {
  SdFileChannel channel;
  Buffer written = command(5, {0x00, 0xCB, 0x3F, 0xFF});
  EXPECT_EQ(channel.write(sd::kBlockSize, Bytes(written.data(), written.size())),
            SdFileChannel::Event::none);
  EXPECT_EQ(channel.write(0, Bytes(written.data(), 10)), SdFileChannel::Event::none);
  written[sd::kCommandHeader] ^= 1;  // fails the CRC
  EXPECT_EQ(channel.write(0, Bytes(written.data(), written.size())), SdFileChannel::Event::none);
  EXPECT_FALSE(channel.pending());
}

TEST(SdFileChannel, NothingToRead_ReadsAsZeros_AndAPulledCardForgetsEverything) {
  SdFileChannel channel;
  Buffer storage(sd::kFragmentSize, 0xEE);
  channel.read(sd::kResponseOffset, MutableBytes(storage.data(), storage.size()));
  EXPECT_EQ(storage, Buffer(sd::kFragmentSize, 0));

  const Buffer written = command(9, {0x00, 0x20, 0x00, 0x80});
  ASSERT_EQ(channel.write(0, Bytes(written.data(), written.size())), SdFileChannel::Event::apdu);
  const std::uint8_t sw[] = {0x90, 0x00};
  channel.complete(Bytes(sw, 2));
  channel.clear();
  channel.read(sd::kResponseOffset, MutableBytes(storage.data(), storage.size()));
  EXPECT_EQ(storage, Buffer(sd::kFragmentSize, 0));
}

}  // namespace
}  // namespace certkey::agent::transport
