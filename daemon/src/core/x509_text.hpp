// Times and names of certificates as the API writes them: ISO 8601 in UTC
// ("2026-12-07T05:40:32Z", which also sorts as text), and RFC 2253 names.
#pragma once
#include <openssl/x509.h>

#include <ctime>
#include <string>

namespace certkey::daemon {

std::string iso_time(std::time_t time);
std::string iso_time(const ASN1_TIME* time);  // "" when it is not a time
std::string name_text(const X509_NAME* name);

}  // namespace certkey::daemon
