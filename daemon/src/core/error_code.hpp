// The daemon's one error currency (STYLE rule 5): a stable code per failure, with its HTTP
// status, an English and a Chinese message, and a hint for the user. Every error any
// transport returns comes from this table; docs/daemon.md and the OpenAPI file list the
// same codes (a unit test checks both).
#pragma once
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace certkey::daemon {

enum class ErrorCode {
  bad_host,
  origin_not_allowed,
  foreign_user,
  missing_request_header,
  unsupported_media_type,
  payload_too_large,
  headers_too_large,
  uri_too_long,
  bad_request,
  not_found,
  method_not_allowed,
  upgrade_required,
  pin_not_accepted,
  rate_limited,
  too_many_connections,
  token_not_found,
  certificate_not_found,
  renewal_not_found,
  no_free_key_slot,
  pin_prompt_unavailable,
  pin_cancelled,
  pin_prompt_timed_out,
  pin_incorrect,
  pin_locked,
  certificate_mismatch,
  renewal_in_progress,
  renewal_state_conflict,
  certificate_untrusted,
  certificate_wrong_subject,
  certificate_not_valid_now,
  ca_unreachable,
  ca_refused,
  revoke_declined,
  new_pin_invalid,
  new_pin_mismatch,
  puk_incorrect,
  puk_locked,
  unlock_code_invalid,
  unlock_response_incorrect,
  unlock_blocked,
  no_unlock_challenge,
  unlock_not_available,
  token_removed,
  token_error,
  operation_timed_out,
  daemon_stopping,
  internal_error,
};

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;  // the stable code clients test for
  unsigned http_status;
  std::string_view message_en;
  std::string_view message_zh;
  std::string_view hint_en;
  std::string_view hint_zh;
};

const ErrorInfo& error_info(ErrorCode code);
// Every entry, in table order (for the OpenAPI check and the docs).
std::span<const ErrorInfo> all_errors();

// {"error": {"code", "message", "message_zh", "hint", "hint_zh"[, "detail"]}}; `detail` says what
// exactly failed. It is cut to a bounded length and made valid UTF-8.
nlohmann::json error_body(ErrorCode code, const std::string& detail = {});

// Thrown by handlers and services; the command core turns it into the reply.
class ApiError : public std::runtime_error {
 public:
  explicit ApiError(ErrorCode code, const std::string& detail = {})
      : std::runtime_error(detail), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace certkey::daemon
