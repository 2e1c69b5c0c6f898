// The framing of certkeyd's unix socket and of native messaging (daemon/src/ipc/frame_codec.*,
// docs/daemon.md "Unix socket and native messaging"): a native-order 32-bit length, then the
// payload. Frames arrive in any split, an over-long frame is refused as soon as its length is
// known, and the socket's default path follows XDG_RUNTIME_DIR.
#include "ipc/frame_codec.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace certkey::ipc {
namespace {

std::string length_prefix(std::uint32_t length) {
  std::string out(4, '\0');
  std::memcpy(out.data(), &length, 4);
  return out;
}

bool feed(FrameDecoder& decoder, std::string_view bytes) {
  return decoder.feed(bytes.data(), bytes.size());
}

TEST(FrameCodec, EncodedFrame_IsTheNativeLengthThenThePayload) {
  EXPECT_EQ(encode_frame("{}"), length_prefix(2) + "{}");
  EXPECT_EQ(encode_frame(""), length_prefix(0));
}

TEST(FrameDecoder, FrameFedByteByByte_ArrivesWhole) {
  FrameDecoder decoder(kMaxCommandFrame);
  const std::string frame = encode_frame(R"({"command":"listTokens"})");
  for (std::size_t i = 0; i + 1 < frame.size(); ++i) {
    ASSERT_TRUE(decoder.feed(&frame[i], 1));
    EXPECT_FALSE(decoder.next()) << "after " << i + 1 << " bytes";
    EXPECT_TRUE(decoder.partial());
  }
  ASSERT_TRUE(decoder.feed(&frame.back(), 1));
  EXPECT_EQ(decoder.next(), R"({"command":"listTokens"})");
  EXPECT_FALSE(decoder.partial());
  EXPECT_FALSE(decoder.next());
}

TEST(FrameDecoder, SeveralFramesInOneFeed_ArriveInOrder) {
  FrameDecoder decoder(kMaxCommandFrame);
  ASSERT_TRUE(feed(decoder, encode_frame("a") + encode_frame("") + encode_frame("bc") + "\x05"));
  EXPECT_EQ(decoder.next(), "a");
  EXPECT_EQ(decoder.next(), "");
  EXPECT_EQ(decoder.next(), "bc");
  EXPECT_FALSE(decoder.next());
  EXPECT_TRUE(decoder.partial());  // the start of a fourth
}

TEST(FrameDecoder, LengthOverTheLimit_IsRefusedAsSoonAsItsFourBytesArrive) {
  FrameDecoder decoder(16);
  const std::string header = length_prefix(17);
  ASSERT_TRUE(feed(decoder, header.substr(0, 3)));
  EXPECT_FALSE(feed(decoder, header.substr(3)));
  EXPECT_FALSE(decoder.next());
}

TEST(FrameDecoder, AfterAnOverLongLength_StaysBroken) {
  FrameDecoder decoder(16);
  EXPECT_FALSE(feed(decoder, length_prefix(1u << 31)));
  EXPECT_FALSE(feed(decoder, encode_frame("ok")));
  EXPECT_FALSE(decoder.next());
  EXPECT_TRUE(decoder.broken());
}

TEST(FrameDecoder, OverLongLengthAfterAGoodFrame_BreaksTheStreamOnceTheFrameIsTaken) {
  FrameDecoder decoder(16);
  ASSERT_TRUE(feed(decoder, encode_frame("ok") + length_prefix(17)));
  EXPECT_EQ(decoder.next(), "ok");
  EXPECT_FALSE(decoder.next());
  EXPECT_TRUE(decoder.broken()) << "the session reads this to answer payload_too_large";
  EXPECT_FALSE(feed(decoder, encode_frame("later")));
}

TEST(FrameDecoder, FrameOfExactlyTheLimit_IsAccepted) {
  FrameDecoder decoder(16);
  ASSERT_TRUE(feed(decoder, encode_frame(std::string(16, 'x'))));
  EXPECT_EQ(decoder.next(), std::string(16, 'x'));
}

// Sets an environment variable for one test and puts the old value back.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(DefaultSocketPath, IsUnderXdgRuntimeDir) {
  ScopedEnv runtime("XDG_RUNTIME_DIR", "/tmp/certkey-test-runtime");
  EXPECT_EQ(default_socket_path(), "/tmp/certkey-test-runtime/certkey/certkeyd.sock");
}

TEST(DefaultSocketPath, WithoutXdgRuntimeDir_IsUnderRunUser) {
  const std::string expected = "/run/user/" + std::to_string(::getuid()) + "/certkey/certkeyd.sock";
  {
    ScopedEnv runtime("XDG_RUNTIME_DIR", nullptr);
    EXPECT_EQ(default_socket_path(), expected);
  }
  ScopedEnv runtime("XDG_RUNTIME_DIR", "");
  EXPECT_EQ(default_socket_path(), expected);
}

}  // namespace
}  // namespace certkey::ipc
