#include "sd_file_channel.hpp"

namespace certkey::agent::transport {

SdFileChannel::Event SdFileChannel::write(std::size_t offset, Bytes data) {
  if (offset != 0 || data.size() < sd::kCommandHeader || data.size() > sizeof command_)
    return Event::none;
  std::uint32_t sequence = 0;
  Bytes apdu;
  if (!parse_sd_command(data, sequence, apdu)) return Event::none;
  for (std::size_t i = 0; i < apdu.size(); ++i) command_[sd::kCommandHeader + i] = apdu[i];
  apdu_length_ = apdu.size();
  secure_zero(MutableBytes(response_, response_length_));
  response_length_ = 0;
  sequence_ = sequence;
  pending_ = true;
  answered_ = false;
  return apdu_length_ == 0 ? Event::reset : Event::apdu;
}

void SdFileChannel::complete(Bytes response) {
  secure_zero(MutableBytes(command_, sizeof command_));  // commands carry PINs
  apdu_length_ = 0;
  response_length_ = response.size() < sizeof response_ ? response.size() : sizeof response_;
  for (std::size_t i = 0; i < response_length_; ++i) response_[i] = response[i];
  pending_ = false;
  answered_ = true;
}

void SdFileChannel::read(std::size_t offset, MutableBytes out) const {
  for (std::uint8_t& b : out) b = 0;
  // Fragments are read whole, each at its own offset; anything else reads as zeros.
  if (offset < sd::kResponseOffset || (offset - sd::kResponseOffset) % sd::kFragmentSize != 0 ||
      out.size() < sd::kFragmentSize || (!pending_ && !answered_)) {
    return;
  }
  const std::size_t index = (offset - sd::kResponseOffset) / sd::kFragmentSize;
  if (pending_ && index != 0) return;
  encode_sd_fragment(sequence_, pending_, Bytes(response_, response_length_),
                     static_cast<std::uint8_t>(index), out.first(sd::kFragmentSize));
}

void SdFileChannel::clear() {
  secure_zero(MutableBytes(command_, sizeof command_));
  secure_zero(MutableBytes(response_, sizeof response_));
  apdu_length_ = response_length_ = 0;
  pending_ = answered_ = false;
}

}  // namespace certkey::agent::transport
