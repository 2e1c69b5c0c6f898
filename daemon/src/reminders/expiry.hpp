// Which certificates are due a reminder, and what the reminder says (docs/daemon.md,
// "Expiry reminders"). No state and no clock of its own: the service gives it the time.
#pragma once
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "tokens/token_state.hpp"
#include "views/language.hpp"

namespace certkey::daemon {

struct ExpiringCertificate {
  std::string id;  // CKA_ID, hex
  std::string subject;
  std::string not_after;    // ISO 8601, UTC
  std::string fingerprint;  // SHA-256 of the DER, hex
  long days_left = 0;       // whole days until not_after
};

// The token's certificates in use (not in a retired slot) that have not expired and expire
// within `days` days of `now`.
std::vector<ExpiringCertificate> expiring_certificates(const TokenState& token, std::time_t now,
                                                       unsigned days);

// The local calendar day of `now`, "YYYY-MM-DD": the unit of "once a day".
std::string local_day(std::time_t now);
// The first moment of the local day after `now`'s.
std::chrono::system_clock::time_point next_local_midnight(std::time_t now);

struct DesktopNotification {
  std::string summary;
  std::string body;
};
// The notification for one certificate: its subject, its days left and what to do.
DesktopNotification reminder_notification(const ExpiringCertificate& certificate,
                                          const TokenState& token, Language language);

}  // namespace certkey::daemon
