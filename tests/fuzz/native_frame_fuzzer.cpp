// libFuzzer target for what reaches certkeyd's unix socket, from the certkey CLI or through
// the browser extension's native-messaging relay (docs/daemon.md, "Unix socket and native
// messaging"): a byte stream, arriving in chunks of any size, cut into frames
// (ipc/frame_codec.*); each frame read as a relay's hello and as a command envelope from
// either source (net/envelope.*), its arguments through the command's parser, and the
// failure reply built from any refusal.
// The input is a series of chunks, each one length byte and then that many bytes of stream.
// Invariants: no crash, no hang, nothing but ApiError escapes; the frames do not depend on
// how the stream was cut; a broken stream stays broken; every frame re-encodes to itself;
// every reply is valid JSON.
#include <optional>
#include <string>
#include <vector>

#include "core/command.hpp"
#include "core/origin.hpp"
#include "ipc/frame_codec.hpp"
#include "net/envelope.hpp"

using namespace certkey::daemon;
namespace ipc = certkey::ipc;

namespace {

void check_reply(const nlohmann::json& id, const CommandReply& reply) {
  if (!nlohmann::json::accept(reply_envelope(id, reply))) __builtin_trap();
}

void read_envelope(const std::string& frame, EnvelopeSource source) {
  try {
    const Envelope envelope = parse_envelope(frame, source);
    if (source == EnvelopeSource::websocket && (envelope.origin || !envelope.tty_name.empty())) {
      __builtin_trap();  // only the unix socket may name an origin or a terminal
    }
    if (envelope.origin) Origin::parse(*envelope.origin);
    const CommandSpec* spec = find_command(envelope.command);
    if (!spec) {
      check_reply(envelope.id, CommandReply::failure(ErrorCode::not_found, envelope.command));
      return;
    }
    try {
      spec->parse(envelope.args);
    } catch (const ApiError& e) {
      check_reply(envelope.id, CommandReply::failure(e.code(), e.what()));
    }
  } catch (const EnvelopeError& e) {
    check_reply(e.id(), CommandReply::failure(e.code(), e.what()));
  }
}

void read_frame(const std::string& frame) {
  if (frame.size() > ipc::kMaxCommandFrame) __builtin_trap();
  ipc::FrameDecoder again(ipc::kMaxCommandFrame);
  const std::string encoded = ipc::encode_frame(frame);
  if (!again.feed(encoded.data(), encoded.size()) || again.next() != frame || again.partial()) {
    __builtin_trap();
  }
  parse_relay_hello(frame);
  read_envelope(frame, EnvelopeSource::unix_socket);
  read_envelope(frame, EnvelopeSource::websocket);
}

// The frames of `stream` fed at once, up to the point where the stream breaks.
std::vector<std::string> frames_at_once(const std::string& stream) {
  ipc::FrameDecoder decoder(ipc::kMaxCommandFrame);
  std::vector<std::string> frames;
  decoder.feed(stream.data(), stream.size());
  while (std::optional<std::string> frame = decoder.next()) frames.push_back(std::move(*frame));
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ipc::FrameDecoder decoder(ipc::kMaxCommandFrame);
  std::vector<std::string> frames;
  std::string stream;
  bool broken = false;
  while (size > 0) {
    const std::size_t chunk = std::min<std::size_t>(data[0], size - 1);
    const char* bytes = reinterpret_cast<const char*>(data + 1);
    data += 1 + chunk;
    size -= 1 + chunk;
    if (broken) {
      if (decoder.feed(bytes, chunk) || decoder.next()) __builtin_trap();  // stays broken
      continue;
    }
    stream.append(bytes, chunk);
    if (!decoder.feed(bytes, chunk)) {
      broken = true;
      continue;
    }
    while (std::optional<std::string> frame = decoder.next()) {
      read_frame(*frame);
      frames.push_back(std::move(*frame));
    }
  }
  if (frames != frames_at_once(stream)) __builtin_trap();
  return 0;
}
