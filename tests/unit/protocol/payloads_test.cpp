// The typed payloads both ends share (agent/protocol/src/piv_payloads.cpp, token_info.cpp):
// certificate object, public-key template, GENERATE's answer, GET METADATA, LIST KEYS,
// PIN-protected management key, TOKEN INFO.
// Inputs are exactly sized vectors so that ASan reports any read past their end.
#include <certkey/protocol/piv_payloads.hpp>
#include <certkey/protocol/token_info.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace certkey::protocol {
namespace {

using Buffer = std::vector<std::uint8_t>;
Bytes view(const Buffer& b) { return Bytes(b.data(), b.size()); }
Buffer copy(Bytes b) { return Buffer(b.begin(), b.end()); }

TEST(CertificateObject, WritesAndReadsBack) {
  const Buffer der(300, 0x5A);
  Buffer object(certificate_object_size(der.size()));
  ASSERT_EQ(write_certificate_object(view(der), MutableBytes(object.data(), object.size())),
            object.size());
  EXPECT_EQ(Buffer(object.begin(), object.begin() + 4), Buffer({0x70, 0x82, 0x01, 0x2C}));
  EXPECT_EQ(Buffer(object.end() - 5, object.end()), Buffer({0x71, 0x01, 0x00, 0xFE, 0x00}));
  Bytes read;
  ASSERT_TRUE(read_certificate_object(view(object), read));
  EXPECT_EQ(copy(read), der);
  Buffer small(object.size() - 1);
  EXPECT_EQ(write_certificate_object(view(der), MutableBytes(small.data(), small.size())), 0u);
  EXPECT_FALSE(read_certificate_object(view(Buffer{0x71, 0x01, 0x00}), read));
  EXPECT_FALSE(read_certificate_object(view(Buffer{0x70, 0x05, 0x00}), read));  // truncated
}

TEST(PublicKeyTemplate, EcPointAloneOrWrapped) {
  const Buffer contents = {0x86, 0x03, 0x04, 0x01, 0x02};
  PublicKeyTemplate out;
  ASSERT_TRUE(read_public_key_template(view(contents), false, out));
  EXPECT_EQ(copy(out.point), Buffer({0x04, 0x01, 0x02}));
  Buffer wrapped = {0x7F, 0x49, 0x05};
  wrapped.insert(wrapped.end(), contents.begin(), contents.end());
  ASSERT_TRUE(read_public_key_template(view(wrapped), false, out));
  EXPECT_EQ(copy(out.point), Buffer({0x04, 0x01, 0x02}));
  EXPECT_FALSE(read_public_key_template(view(contents), true, out));  // an RSA template has no 86
  EXPECT_FALSE(
      read_public_key_template(view(Buffer{0x86, 0x01, 0x04, 0x86, 0x01, 0x04}), false, out));
}

TEST(GeneratedKey, OneTemplateAndNothingElse) {
  Bytes contents;
  const Buffer answer = {0x7F, 0x49, 0x03, 0x86, 0x01, 0x04};
  ASSERT_TRUE(read_generated_key(view(answer), contents));
  EXPECT_EQ(copy(contents), Buffer({0x86, 0x01, 0x04}));
  EXPECT_FALSE(read_generated_key(view(Buffer{0x86, 0x01, 0x04}), contents)) << "no 7F49";
  EXPECT_FALSE(read_generated_key(view(Buffer{0x7F, 0x49, 0x00, 0x90, 0x00}), contents))
      << "something after it";
  EXPECT_FALSE(read_generated_key(view(Buffer{0x7F, 0x49, 0x05, 0x86}), contents)) << "cut short";
}

TEST(MetadataPayload, ReadsTheFieldsOfTheirSizeAndSkipsOthers) {
  const Buffer key_slot = {0x01, 0x01, 0x11,        // algorithm P-256
                           0x02, 0x02, 0x02, 0x01,  // PIN policy once, touch never
                           0x03, 0x01, 0x01,        // generated
                           0x04, 0x03, 0x86, 0x01,
                           0x04, 0x09, 0x01, 0x00};  // a field of newer firmware
  Metadata m;
  ASSERT_TRUE(read_metadata(view(key_slot), m));
  EXPECT_TRUE(m.has_algorithm && m.has_policy && m.has_origin && m.has_public_key);
  EXPECT_FALSE(m.has_retries || m.has_is_default);
  EXPECT_EQ(m.algorithm, 0x11);
  EXPECT_EQ(m.pin_policy, 2);
  EXPECT_EQ(m.touch_policy, 1);
  EXPECT_EQ(m.origin, 1);
  EXPECT_EQ(copy(m.public_key), Buffer({0x86, 0x01, 0x04}));
  const Buffer pin = {0x01, 0x01, 0xFF, 0x05, 0x01, 0x01, 0x06, 0x02, 0x03, 0x02};
  ASSERT_TRUE(read_metadata(view(pin), m));
  EXPECT_TRUE(m.has_retries && m.has_is_default && m.is_default);
  EXPECT_EQ(m.retry_limit, 3);
  EXPECT_EQ(m.retries_left, 2);
  ASSERT_TRUE(read_metadata(view(Buffer{0x06, 0x01, 0x03}), m));
  EXPECT_FALSE(m.has_retries) << "retries of the wrong size are left out";
  EXPECT_FALSE(read_metadata(view(Buffer{0x06, 0x05, 0x03}), m)) << "cut short";
}

TEST(KeyListPayload, WritesAndReadsBackEveryField) {
  const KeyListEntry first{0x9A, 0x11, 0x02, 0x01, 0x01, 0x01AB};
  const KeyListEntry second{0x82, 0x00, 0x00, 0x00, 0x00, 0x0300};  // a certificate alone
  Buffer answer(2 * kListKeysEntrySize);
  write_key_list_entry(first, MutableBytes(answer.data(), kListKeysEntrySize));
  write_key_list_entry(second,
                       MutableBytes(answer.data() + kListKeysEntrySize, kListKeysEntrySize));
  EXPECT_EQ(Buffer(answer.begin(), answer.begin() + 8),
            Buffer({0x9A, 0x11, 0x02, 0x01, 0x01, 0x01, 0xAB, 0x00}));
  std::size_t count = 0;
  ASSERT_TRUE(key_list_count(view(answer), count));
  ASSERT_EQ(count, 2u);
  const KeyListEntry read = read_key_list_entry(view(answer), 1);
  EXPECT_EQ(read.slot, 0x82);
  EXPECT_EQ(read.algorithm, 0);
  EXPECT_EQ(read.certificate_length, 0x0300);
  EXPECT_EQ(read_key_list_entry(view(answer), 0).pin_policy, 0x02);
  answer.pop_back();
  EXPECT_FALSE(key_list_count(view(answer), count)) << "not a whole number of entries";
  ASSERT_TRUE(key_list_count(view(Buffer{}), count));
  EXPECT_EQ(count, 0u);
}

TEST(ProtectedManagementKey, FoundInsideTag88) {
  const Buffer object = {0x53, 0x00, 0x88, 0x04, 0x89, 0x02, 0xAB, 0xCD};
  Bytes key;
  ASSERT_TRUE(read_protected_management_key(view(object), key));
  EXPECT_EQ(copy(key), Buffer({0xAB, 0xCD}));
  EXPECT_FALSE(read_protected_management_key(view(Buffer{0x88, 0x00}), key));
  EXPECT_FALSE(read_protected_management_key(view(Buffer{}), key));
}

TEST(TokenInfoPayload, ReadsEveryFieldAndSkipsUnknownOnes) {
  const Buffer data = {0x01, 0x04, 0x01,
                       0xC0, 0xFF, 0xEE,  // serial
                       0x02, 0x01, 0x02,  // medium: USB KEY
                       0x03, 0x03, 0x01,
                       0x02, 0x03,  // firmware
                       0x04, 0x04, 0x00,
                       0x00, 0x01, 0x00,  // change counter
                       0x05, 0x01, kPolicyRequirePinChange,
                       0x06, 0x02, 0x05,
                       0x04,  // unlock key: limit 5, 4 left
                       0x07, 0x03, 0x03,
                       0x02, 0x01,  // PIN: 3, 2 left, default
                       0x08, 0x03, 0x03,
                       0x03, 0x00,         // PUK
                       0x3F, 0x01, 0x00};  // a field of newer firmware
  TokenInfo info;
  ASSERT_TRUE(read_token_info(view(data), info));
  EXPECT_EQ(info.serial, 0x01C0FFEEu);
  EXPECT_EQ(info.medium, Medium::usb_key);
  EXPECT_EQ(info.firmware[2], 3);
  EXPECT_EQ(info.change_counter, 256u);
  EXPECT_EQ(info.policy, kPolicyRequirePinChange);
  EXPECT_TRUE(info.has_unlock_key);
  EXPECT_EQ(info.unlock_left, 4);
  EXPECT_TRUE(info.has_pin_state);
  EXPECT_EQ(info.pin.left, 2);
  EXPECT_TRUE(info.pin.is_default);
  EXPECT_FALSE(info.puk.is_default);

  ASSERT_TRUE(read_token_info(view(Buffer{0x01, 0x02, 0x00, 0x01}), info));  // wrong size: ignored
  EXPECT_EQ(info.serial, 0u);
  EXPECT_FALSE(info.has_pin_state);
  EXPECT_FALSE(read_token_info(view(Buffer{0x01, 0x04, 0x00}), info));  // truncated
}

}  // namespace
}  // namespace certkey::protocol
