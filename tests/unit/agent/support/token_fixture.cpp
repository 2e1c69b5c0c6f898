#include "token_fixture.hpp"

#include <unistd.h>

#include <certkey/protocol/aid.hpp>

#include <algorithm>
#include <atomic>
#include <iomanip>
#include <ostream>

namespace certkey::protocol {

void PrintTo(Sw sw, std::ostream* os) {
  *os << "SW " << std::hex << std::uppercase << std::setw(4) << std::setfill('0') << to_u16(sw);
}

void PrintTo(Algorithm algorithm, std::ostream* os) {
  *os << "algorithm " << std::hex << std::uppercase << std::setw(2) << std::setfill('0')
      << static_cast<unsigned>(algorithm);
}

}  // namespace certkey::protocol

namespace certkey::agent::test {

Buffer short_apdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                  const Buffer& data, std::optional<std::uint8_t> le) {
  Buffer apdu = {cla, ins, p1, p2};
  if (!data.empty()) {
    apdu.push_back(static_cast<std::uint8_t>(data.size()));
    apdu.insert(apdu.end(), data.begin(), data.end());
  }
  if (le) apdu.push_back(*le);
  return apdu;
}

Buffer extended_apdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                     const Buffer& data, std::optional<std::uint16_t> le) {
  Buffer apdu = {cla, ins, p1, p2, 0x00};
  if (!data.empty()) {
    apdu.push_back(static_cast<std::uint8_t>(data.size() >> 8));
    apdu.push_back(static_cast<std::uint8_t>(data.size()));
    apdu.insert(apdu.end(), data.begin(), data.end());
  }
  if (le) {
    apdu.push_back(static_cast<std::uint8_t>(*le >> 8));
    apdu.push_back(static_cast<std::uint8_t>(*le));
  }
  return apdu;
}

Buffer tlv(std::uint16_t tag, const Buffer& value) {
  Buffer out;
  if (tag > 0xFF) out.push_back(static_cast<std::uint8_t>(tag >> 8));
  out.push_back(static_cast<std::uint8_t>(tag));
  const std::size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::uint8_t>(n));
  } else if (n <= 0xFF) {
    out.insert(out.end(), {0x81, static_cast<std::uint8_t>(n)});
  } else {
    out.insert(out.end(), {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)});
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

Buffer concat(std::initializer_list<Buffer> parts) {
  Buffer out;
  for (const Buffer& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

Buffer pin_block(const std::string& pin) {
  Buffer block(pin.begin(), pin.end());
  block.resize(protocol::kPinBlockLength, protocol::kPinPadByte);
  return block;
}

std::optional<Buffer> find_value(const Buffer& data, std::uint16_t wanted) {
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::uint16_t tag = data[pos++];
    if ((tag & 0x1F) == 0x1F) {
      if (pos >= data.size()) return std::nullopt;
      tag = static_cast<std::uint16_t>((tag << 8) | data[pos++]);
    }
    if (pos >= data.size()) return std::nullopt;
    std::size_t length = data[pos++];
    if (length == 0x81 || length == 0x82) {
      const std::size_t count = length - 0x80;
      if (data.size() - pos < count) return std::nullopt;
      length = 0;
      for (std::size_t i = 0; i < count; ++i) length = (length << 8) | data[pos++];
    } else if (length > 0x80) {
      return std::nullopt;
    }
    if (data.size() - pos < length) return std::nullopt;
    if (tag == wanted) {
      return Buffer(data.begin() + static_cast<std::ptrdiff_t>(pos),
                    data.begin() + static_cast<std::ptrdiff_t>(pos + length));
    }
    pos += length;
  }
  return std::nullopt;
}

std::uint32_t be32(const Buffer& b) {
  if (b.size() != 4) return 0;
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         b[3];
}

Buffer object_tag(std::uint32_t id) {
  Buffer value;
  if (id > 0xFFFF) value.push_back(static_cast<std::uint8_t>(id >> 16));
  if (id > 0xFF) value.push_back(static_cast<std::uint8_t>(id >> 8));
  value.push_back(static_cast<std::uint8_t>(id));
  return tlv(tag::kTagList, value);
}

std::size_t block_size(Algorithm algorithm) { return algorithm == Algorithm::tdes ? 8 : 16; }

// ---- fixture -----------------------------------------------------------------------------

void TokenFixture::SetUp() {
  static std::atomic<unsigned> counter{0};
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "-" + info->name();
  std::replace(name.begin(), name.end(), '/', '_');  // parameterised tests: Prefix/Suite.Name/0
  dir_ =
      std::filesystem::temp_directory_path() /
      ("certkey-unit-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir_);
  ASSERT_TRUE(std::filesystem::create_directories(dir_));
  boot();
}

void TokenFixture::TearDown() {
  token_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

piv::Identity TokenFixture::identity() const {
  piv::Identity id;
  id.serial = kSerial;
  id.medium = protocol::Medium::usb_key;
  return id;
}

void TokenFixture::boot() {
  token_ =
      std::make_unique<sim::SimToken>(flash_path().string(), identity(), flash_size(), &clock_);
  ASSERT_TRUE(token_->boot());
  ASSERT_EQ(select().sw, Sw::ok);
}

void TokenFixture::reboot() {
  token_.reset();
  boot();
}

std::size_t TokenFixture::exchange(Bytes command, MutableBytes response) {
  return token_->transmit(command, response);
}

Response TokenFixture::transmit(const Buffer& apdu) {
  const Buffer exact(apdu.begin(), apdu.end());
  Buffer response(protocol::kMaxResponseApdu);
  const std::size_t n =
      exchange(Bytes(exact.data(), exact.size()), MutableBytes(response.data(), response.size()));
  Response r;
  if (n < 2 || n > response.size()) {
    ADD_FAILURE() << "response of " << n << " bytes";
    return r;
  }
  r.sw = static_cast<Sw>((response[n - 2] << 8) | response[n - 1]);
  r.data.assign(response.begin(), response.begin() + static_cast<std::ptrdiff_t>(n - 2));
  return r;
}

Response TokenFixture::send(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                            const Buffer& data) {
  std::size_t pos = 0;
  while (data.size() - pos > protocol::kShortMaxLc) {
    Buffer block(data.begin() + static_cast<std::ptrdiff_t>(pos),
                 data.begin() + static_cast<std::ptrdiff_t>(pos + protocol::kShortMaxLc));
    Response r = transmit(
        short_apdu(static_cast<std::uint8_t>(cla | protocol::kClaChainBit), ins, p1, p2, block));
    if (r.sw != Sw::ok) return r;
    pos += protocol::kShortMaxLc;
  }
  Response r = transmit(short_apdu(
      cla, ins, p1, p2, Buffer(data.begin() + static_cast<std::ptrdiff_t>(pos), data.end())));
  Buffer all = r.data;
  for (int guard = 0; (protocol::to_u16(r.sw) & 0xFF00) == 0x6100 && guard < 64; ++guard) {
    r = transmit(short_apdu(protocol::kClaIso, u8(Ins::get_response), 0, 0, {}, 0x00));
    all.insert(all.end(), r.data.begin(), r.data.end());
  }
  r.data = all;
  return r;
}

Response TokenFixture::send(Ins ins, std::uint8_t p1, std::uint8_t p2, const Buffer& data) {
  return send(protocol::kClaIso, u8(ins), p1, p2, data);
}

Response TokenFixture::send(CertkeyIns ins, std::uint8_t p1, std::uint8_t p2, const Buffer& data) {
  return send(protocol::kClaCertkey, u8(ins), p1, p2, data);
}

Response TokenFixture::select() {
  const Buffer aid(protocol::kPivAid.begin(), protocol::kPivAid.end());
  return transmit(short_apdu(protocol::kClaIso, u8(Ins::select), 0x04, 0x00, aid, 0x00));
}

Sw TokenFixture::verify_pin(const std::string& pin) {
  return send(Ins::verify, 0x00, u8(KeyRef::pin), pin_block(pin)).sw;
}

Sw TokenFixture::pin_status() { return send(Ins::verify, 0x00, u8(KeyRef::pin)).sw; }

Sw TokenFixture::authenticate(Algorithm algorithm, const Buffer& key) {
  const std::uint8_t management = u8(KeyRef::management);
  Response witness = send(Ins::general_authenticate, u8(algorithm), management,
                          tlv(tag::kDynamicAuth, tlv(tag::kWitness, {})));
  if (witness.sw != Sw::ok) return witness.sw;
  auto inner = find_value(witness.data, tag::kDynamicAuth);
  auto encrypted = inner ? find_value(*inner, tag::kWitness) : std::nullopt;
  if (!encrypted || encrypted->size() != block_size(algorithm)) {
    ADD_FAILURE() << "no witness in the answer";
    return Sw::unknown;
  }
  const Buffer challenge = random_bytes(block_size(algorithm));
  Response answer = send(
      Ins::general_authenticate, u8(algorithm), management,
      tlv(tag::kDynamicAuth, concat({tlv(tag::kWitness, block_decrypt(algorithm, key, *encrypted)),
                                     tlv(tag::kChallenge, challenge)})));
  if (answer.sw == Sw::ok) {
    auto answer_inner = find_value(answer.data, tag::kDynamicAuth);
    auto cryptogram = answer_inner ? find_value(*answer_inner, tag::kResponse) : std::nullopt;
    EXPECT_EQ(cryptogram, block_encrypt(algorithm, key, challenge))
        << "the token's cryptogram for the host challenge";
  }
  return answer.sw;
}

Response TokenFixture::generate(std::uint8_t slot, Algorithm algorithm, const Buffer& extra) {
  Response r =
      send(Ins::generate_asymmetric_key_pair, 0x00, slot,
           tlv(tag::kControlReference, concat({tlv(tag::kAlgorithm, {u8(algorithm)}), extra})));
  if (r.sw == Sw::ok) {
    auto contents = find_value(r.data, tag::kPublicKeyTemplate);
    EXPECT_TRUE(contents) << "no 7F49 template";
    r.data = contents.value_or(Buffer{});
  }
  return r;
}

Response TokenFixture::sign(std::uint8_t slot, Algorithm algorithm, const Buffer& input) {
  Response r =
      send(Ins::general_authenticate, u8(algorithm), slot,
           tlv(tag::kDynamicAuth, concat({tlv(tag::kResponse, {}), tlv(tag::kChallenge, input)})));
  if (r.sw == Sw::ok) {
    auto inner = find_value(r.data, tag::kDynamicAuth);
    auto value = inner ? find_value(*inner, tag::kResponse) : std::nullopt;
    EXPECT_TRUE(value) << "no 7C{82} in the answer";
    r.data = value.value_or(Buffer{});
  }
  return r;
}

Response TokenFixture::put_object(std::uint32_t id, const Buffer& content) {
  return send(Ins::put_data, 0x3F, 0xFF, concat({object_tag(id), tlv(tag::kData, content)}));
}

Response TokenFixture::get_object(std::uint32_t id) {
  Response r = send(Ins::get_data, 0x3F, 0xFF, object_tag(id));
  if (r.sw == Sw::ok) {
    auto value = find_value(r.data, tag::kData);
    EXPECT_TRUE(value) << "no 53 in the answer";
    r.data = value.value_or(Buffer{});
  }
  return r;
}

Response TokenFixture::metadata(std::uint8_t reference) {
  return send(Ins::get_metadata, 0x00, reference);
}

Response TokenFixture::token_info() { return send(CertkeyIns::token_info); }

std::uint32_t TokenFixture::change_counter() {
  Response info = token_info();
  EXPECT_EQ(info.sw, Sw::ok);
  auto counter = find_value(info.data, tag::kInfoChangeCounter);
  EXPECT_TRUE(counter && counter->size() == 4);
  return counter ? be32(*counter) : 0;
}

Pkey TokenFixture::public_key(Algorithm algorithm, const Buffer& contents) {
  if (algorithm == Algorithm::rsa2048) {
    auto modulus = find_value(contents, tag::kRsaModulus);
    auto exponent = find_value(contents, tag::kRsaExponent);
    return modulus && exponent ? rsa_public_key(*modulus, *exponent) : nullptr;
  }
  auto point = find_value(contents, tag::kEcPoint);
  if (!point) return nullptr;
  return ec_public_key(algorithm == Algorithm::ecc_p256 ? "P-256" : "P-384", *point);
}

}  // namespace certkey::agent::test
