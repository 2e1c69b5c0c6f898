// What the CLI prints for people (docs/cli.md), in the chosen language, from the API's own
// answers: the token list, the certificates' status, the diagnosis's findings, events and
// errors. Everything that came from a token, a reader or a certificate is made safe for a
// terminal first (terminal_safe).
#pragma once
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "views/language.hpp"

namespace certkey::cli {

// Certificates this close to expiry are due for renewal (the CA rules: from 30 days before).
inline constexpr int kRenewalDueDays = 30;

// Control characters (C0, DEL, C1) become '?', so a reader name or a certificate subject
// cannot move the cursor, retitle the window or hide text in the user's terminal.
std::string terminal_safe(const std::string& text);

// An unlock code, "ABCDE-FGHJK-...", as the groups a person reads out: "ABCDE FGHJK ...".
std::string spoken_code(std::string code);

// `tokens`: listTokens' result; `certificates`: queryCertificates' result.
std::string status_text(const nlohmann::json& tokens, const nlohmann::json& certificates,
                        Language l, std::time_t now);
std::string list_text(const nlohmann::json& tokens, Language l);
// diagnose's result.
std::string diagnosis_text(const nlohmann::json& diagnosis, Language l);
// One event message (watchEvents), on one line, with the local time `now`.
std::string event_text(const nlohmann::json& event, Language l, std::time_t now);
// A reply's error member: message and hint, in the language.
std::string error_text(const nlohmann::json& error, Language l);

}  // namespace certkey::cli
