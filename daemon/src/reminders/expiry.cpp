#include "reminders/expiry.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certs/openssl_support.hpp"
#include "core/hex.hpp"
#include "views/text.hpp"

namespace certkey::daemon {
namespace {

std::string sha256_hex(const std::vector<std::uint8_t>& der) {
  std::vector<std::uint8_t> digest(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  EVP_Digest(der.data(), der.size(), digest.data(), &length, EVP_sha256(), nullptr);
  digest.resize(length);
  return hex(digest);
}

std::string medium_name(const std::string& medium) {
  if (medium == "usbkey") return "USB KEY";
  if (medium == "sdkey") return "SD KEY";
  if (medium == "sim") return "SIM";
  return "smart card";
}

}  // namespace

std::vector<ExpiringCertificate> expiring_certificates(const TokenState& token, std::time_t now,
                                                       unsigned days) {
  std::vector<ExpiringCertificate> due;
  const certs::ErrorQueueGuard clean_errors;
  for (const CertificateInfo& c : token.certificates) {
    if (is_retired_id(c.id) || c.der.empty()) continue;
    const unsigned char* p = c.der.data();
    const X509Ptr certificate =
        certs::adopt(d2i_X509(nullptr, &p, static_cast<long>(c.der.size())));
    if (!certificate) continue;
    const std::optional<std::time_t> end = certs::to_time(X509_get0_notAfter(certificate.get()));
    if (!end || *end <= now || *end - now > static_cast<std::time_t>(days) * 86400) continue;
    due.push_back({c.id, display_text(c.subject, 512), certs::time_text(*end), sha256_hex(c.der),
                   static_cast<long>((*end - now) / 86400)});
  }
  return due;
}

std::string local_day(std::time_t now) {
  std::tm local{};
  ::localtime_r(&now, &local);
  char text[16];
  std::strftime(text, sizeof text, "%Y-%m-%d", &local);
  return text;
}

std::chrono::system_clock::time_point next_local_midnight(std::time_t now) {
  std::tm local{};
  ::localtime_r(&now, &local);
  local.tm_mday += 1;
  local.tm_hour = local.tm_min = local.tm_sec = 0;
  local.tm_isdst = -1;  // mktime works out whether the next day is in summer time
  return std::chrono::system_clock::from_time_t(std::mktime(&local));
}

DesktopNotification reminder_notification(const ExpiringCertificate& c, const TokenState& token,
                                          Language l) {
  const std::string days = std::to_string(c.days_left), serial = std::to_string(token.serial);
  const std::string day = c.not_after.substr(0, 10), medium = medium_name(token.medium);
  if (l == Language::zh) {
    return {c.days_left == 0 ? "证书今天到期" : "证书将在 " + days + " 天后到期",
            c.subject + "\n" + medium + " " + serial + " 上的证书将于 " + day +
                " 到期。请在证书颁发机构的服务页面更新，或运行 certkey renew。"};
  }
  return {c.days_left == 0
              ? "Certificate expires today"
              : "Certificate expires in " + days + (c.days_left == 1 ? " day" : " days"),
          c.subject + "\nThe certificate on " + medium + " " + serial + " expires on " + day +
              ". Renew it on your certificate authority's service page, or with certkey renew."};
}

}  // namespace certkey::daemon
