#include <certkey/protocol/sd_framing.hpp>

#include <certkey/protocol/crc32.hpp>

namespace certkey::protocol {
namespace {

bool has_magic(Bytes in, const std::uint8_t (&magic)[8]) {
  for (std::size_t i = 0; i < 8; ++i) {
    if (in[i] != magic[i]) return false;
  }
  return true;
}

// CRC over the header with its CRC field as zero, then the data.
std::uint32_t frame_crc(Bytes header, std::size_t crc_offset, Bytes data) {
  std::uint8_t copy[sd::kResponseHeader] = {};
  for (std::size_t i = 0; i < header.size(); ++i)
    copy[i] = i >= crc_offset && i < crc_offset + 4 ? 0 : header[i];
  return crc32(data, crc32(Bytes(copy, header.size())));
}

}  // namespace

std::size_t encode_sd_command(std::uint32_t sequence, Bytes apdu, MutableBytes out) {
  if (apdu.size() > sd::kMaxCommand) return 0;
  const std::size_t total =
      (sd::kCommandHeader + apdu.size() + sd::kBlockSize - 1) / sd::kBlockSize * sd::kBlockSize;
  if (out.size() < total) return 0;
  for (std::size_t i = 0; i < total; ++i) out[i] = 0;
  for (std::size_t i = 0; i < 8; ++i) out[i] = sd::kCommandMagic[i];
  store_be32(&out[8], sequence);
  store_be16(&out[12], static_cast<std::uint16_t>(apdu.size()));
  for (std::size_t i = 0; i < apdu.size(); ++i) out[sd::kCommandHeader + i] = apdu[i];
  store_be32(&out[16], frame_crc(Bytes(out.data(), sd::kCommandHeader), 16, apdu));
  return total;
}

bool parse_sd_command(Bytes in, std::uint32_t& sequence, Bytes& apdu) {
  if (in.size() < sd::kCommandHeader || !has_magic(in, sd::kCommandMagic)) return false;
  const std::size_t length = load_be16(&in[12]);
  if (length > sd::kMaxCommand || length > in.size() - sd::kCommandHeader) return false;
  Bytes data = in.subspan(sd::kCommandHeader, length);
  if (load_be32(&in[16]) != frame_crc(in.subspan(0, sd::kCommandHeader), 16, data)) return false;
  sequence = load_be32(&in[8]);
  apdu = data;
  return true;
}

bool encode_sd_fragment(std::uint32_t sequence, bool busy, Bytes response, std::uint8_t index,
                        MutableBytes out) {
  if (response.size() > sd::kMaxResponse || out.size() < sd::kFragmentSize) return false;
  const std::size_t count =
      busy ? 1 : (response.size() + sd::kFragmentData - 1) / sd::kFragmentData;
  if (index >= (count ? count : 1)) return false;
  const std::size_t offset = static_cast<std::size_t>(index) * sd::kFragmentData;
  const std::size_t left = busy ? 0 : response.size() - offset;
  const std::size_t length = left < sd::kFragmentData ? left : sd::kFragmentData;
  for (std::size_t i = 0; i < sd::kFragmentSize; ++i) out[i] = 0;
  for (std::size_t i = 0; i < 8; ++i) out[i] = sd::kResponseMagic[i];
  store_be32(&out[8], sequence);
  out[12] = static_cast<std::uint8_t>(busy ? sd::Status::busy : sd::Status::ready);
  out[13] = index;
  out[14] = static_cast<std::uint8_t>(count ? count : 1);
  store_be16(&out[16], static_cast<std::uint16_t>(busy ? 0 : response.size()));
  store_be16(&out[18], static_cast<std::uint16_t>(length));
  Bytes data = busy ? Bytes() : response.subspan(offset, length);
  for (std::size_t i = 0; i < data.size(); ++i) out[sd::kResponseHeader + i] = data[i];
  store_be32(&out[20], frame_crc(Bytes(out.data(), sd::kResponseHeader), 20, data));
  return true;
}

bool parse_sd_fragment(Bytes in, SdFragment& out) {
  if (in.size() < sd::kFragmentSize || !has_magic(in, sd::kResponseMagic)) return false;
  const auto status = static_cast<sd::Status>(in[12]);
  const std::uint8_t index = in[13], count = in[14];
  const std::size_t total = load_be16(&in[16]), length = load_be16(&in[18]);
  if ((status != sd::Status::ready && status != sd::Status::busy) || count == 0 ||
      count > sd::kMaxFragments || index >= count || length > sd::kFragmentData ||
      total > sd::kMaxResponse) {
    return false;
  }
  if (status == sd::Status::busy) {
    // A busy marker carries nothing: the card is still working on the command.
    if (index != 0 || count != 1 || total != 0 || length != 0) return false;
  } else {
    // Fragment `index` of a `total`-byte response has exactly this many bytes.
    const std::size_t fragments =
        total == 0 ? 1 : (total + sd::kFragmentData - 1) / sd::kFragmentData;
    const std::size_t offset = static_cast<std::size_t>(index) * sd::kFragmentData;
    const std::size_t left = total > offset ? total - offset : 0;
    if (count != fragments || length != (left < sd::kFragmentData ? left : sd::kFragmentData))
      return false;
  }
  Bytes data = in.subspan(sd::kResponseHeader, length);
  if (load_be32(&in[20]) != frame_crc(in.subspan(0, sd::kResponseHeader), 20, data)) return false;
  out =
      SdFragment{load_be32(&in[8]), status, index, count, static_cast<std::uint16_t>(total), data};
  return true;
}

}  // namespace certkey::protocol
