// The daemon's one error currency (STYLE rule 5): a stable code per failure, with its HTTP
// status, an English and a Chinese message, and a hint for the user. Every error the API
// returns comes from this table; docs/daemon.md and the OpenAPI file list the same codes.
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
  missing_request_header,
  unsupported_media_type,
  payload_too_large,
  bad_request,
  not_found,
  method_not_allowed,
  token_not_found,
  certificate_not_found,
  renewal_not_found,
  no_free_key_slot,
  pin_prompt_unavailable,
  pin_cancelled,
  pin_incorrect,
  pin_locked,
  certificate_mismatch,
  token_removed,
  token_error,
  internal_error,
};

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;  // the stable code clients test for
  unsigned http_status;
  std::string_view message_en;
  std::string_view message_zh;
  std::string_view hint;
};

const ErrorInfo& error_info(ErrorCode code);
// Every entry, in table order (for the OpenAPI check and the docs).
std::span<const ErrorInfo> all_errors();

// {"error": {"code", "message", "message_zh", "hint"}}; `detail` adds what exactly failed.
nlohmann::json error_body(ErrorCode code, const std::string& detail = {});

// Thrown by handlers and services; the router turns it into the response.
class ApiError : public std::runtime_error {
 public:
  explicit ApiError(ErrorCode code, const std::string& detail = {})
      : std::runtime_error(detail), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace certkey::daemon
