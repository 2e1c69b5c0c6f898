// The help desk's audit file (docs/unlock.md section 8): one JSON line per response given,
// appended in one write and flushed to disk before the response is shown, so a response that
// was given is always on record. `certkey helpdesk respond` and the reference portal write it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace certkey::helpdesk {

// Creates the file (0600) and its directory (0700) when missing. False: nothing may be shown.
bool append_audit_line(const std::string& path, const nlohmann::json& record);

// Now, as the record's "time": 2026-12-07T17:39:03Z.
std::string utc_now();

}  // namespace certkey::helpdesk
