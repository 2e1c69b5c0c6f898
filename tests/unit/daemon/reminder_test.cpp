// Which certificates the expiry reminders pick, the local day they count in, and what the
// notification says (daemon/src/reminders/expiry.cpp), on certificates made here with
// OpenSSL. The reminders on a real session D-Bus are in tests/integration/daemon.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdlib>

#include "reminders/expiry.hpp"

namespace certkey::daemon {
namespace {

constexpr std::time_t kNow = 1795930400;  // 2026-11-29T05:33:20Z
constexpr std::time_t kDay = 86400;

// A self-signed certificate for CN=`name` that ends at `not_after`, as DER.
std::vector<std::uint8_t> certificate_der(const std::string& name, std::time_t not_after) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, nullptr);
  ASN1_TIME_set(X509_getm_notAfter(x), not_after);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_set_pubkey(x, key);
  X509_sign(x, key, EVP_sha256());
  unsigned char* der = nullptr;
  const int length = i2d_X509(x, &der);
  std::vector<std::uint8_t> out(der, der + length);
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

CertificateInfo certificate(const std::string& id, const std::string& name, std::time_t not_after) {
  CertificateInfo c;
  c.id = id;
  c.subject = "CN=" + name;
  c.der = certificate_der(name, not_after);
  return c;
}

TEST(ExpiryReminders, PicksCertificatesInUse_WithinTheDays_NotExpired) {
  TokenState token;
  token.serial = 12345678;
  token.medium = "usbkey";
  token.certificates = {certificate("01", "soon", kNow + 20 * kDay + 3600),
                        certificate("02", "edge", kNow + 30 * kDay),
                        certificate("03", "later", kNow + 40 * kDay),
                        certificate("04", "expired", kNow - kDay)};
  std::vector<ExpiringCertificate> due = expiring_certificates(token, kNow, 30);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].id, "01");
  EXPECT_EQ(due[0].days_left, 20);
  EXPECT_EQ(due[0].subject, "CN=soon");
  EXPECT_EQ(due[0].fingerprint.size(), 64u);
  EXPECT_EQ(due[1].id, "02");
  EXPECT_EQ(due[1].days_left, 30);
  EXPECT_EQ(expiring_certificates(token, kNow, 40).size(), 3u) << "03 joins; 04 has expired";

  // A superseded certificate kept in a retired slot (05-18) is no longer used: no reminder.
  token.certificates = {certificate("05", "retired", kNow + 10 * kDay),
                        certificate("01", "last day", kNow + 3600)};
  token.certificates.push_back({"02", "", "CN=broken", "", "", "", "", {0x30, 0x03, 0x01}});
  due = expiring_certificates(token, kNow, 30);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, "01");
  EXPECT_EQ(due[0].days_left, 0);
}

TEST(ExpiryReminders, TheDayIsLocal_AndTheDailyCheckIsAtLocalMidnight) {
  const char* saved = std::getenv("TZ");
  const std::string before = saved ? saved : "";
  ::setenv("TZ", "Asia/Shanghai", 1);
  ::tzset();
  // 2026-11-29T05:33:20Z is 13:33:20 in Beijing; 2026-11-29T18:00:00Z is already the 30th.
  EXPECT_EQ(local_day(kNow), "2026-11-29");
  EXPECT_EQ(local_day(1795975200), "2026-11-30");
  EXPECT_EQ(std::chrono::system_clock::to_time_t(next_local_midnight(kNow)), 1795968000)
      << "2026-11-29T16:00:00Z";
  if (saved)
    ::setenv("TZ", before.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
}

TEST(ExpiryReminders, TheNotificationGivesSubjectDaysAndTheNextStep_InTheLanguage) {
  TokenState token;
  token.serial = 12345678;
  token.medium = "sim";
  const ExpiringCertificate c{"01", "CN=张三,O=示例", "2026-12-19T06:33:20Z", "", 20};
  const DesktopNotification en = reminder_notification(c, token, Language::en);
  EXPECT_EQ(en.summary, "Certificate expires in 20 days");
  EXPECT_EQ(en.body,
            "CN=张三,O=示例\nThe certificate on SIM 12345678 expires on 2026-12-19. Renew it on "
            "your certificate "
            "authority's service page, or with certkey renew.");
  const DesktopNotification zh = reminder_notification(c, token, Language::zh);
  EXPECT_EQ(zh.summary, "证书将在 20 天后到期");
  EXPECT_EQ(zh.body,
            "CN=张三,O=示例\nSIM 12345678 上的证书将于 2026-12-19 "
            "到期。请在证书颁发机构的服务页面更新，或运行 certkey "
            "renew。");
  ExpiringCertificate one = c;
  one.days_left = 1;
  EXPECT_EQ(reminder_notification(one, token, Language::en).summary,
            "Certificate expires in 1 day");
  one.days_left = 0;
  EXPECT_EQ(reminder_notification(one, token, Language::en).summary, "Certificate expires today");
}

}  // namespace
}  // namespace certkey::daemon
