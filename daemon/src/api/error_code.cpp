#include "error_code.hpp"

#include <array>

namespace certkey::daemon {
namespace {

// Same order as the enum.
constexpr std::array<ErrorInfo, 20> kErrors = {{
    {ErrorCode::bad_host, "bad_host", 403, "The request was not addressed to the local certkey service.",
     "请求的目标不是本机 certkey 服务。", "Open the page again; if it persists, the page is not one certkey serves."},
    {ErrorCode::origin_not_allowed, "origin_not_allowed", 403, "This web site may not use the certkey service.",
     "该网站无权使用 certkey 服务。", "Use your certificate authority's own service page."},
    {ErrorCode::missing_request_header, "missing_request_header", 403,
     "The request lacks the X-Certkey-Request header.", "请求缺少 X-Certkey-Request 头。",
     "Use the certkey client library, which sets it."},
    {ErrorCode::unsupported_media_type, "unsupported_media_type", 415, "The request body must be JSON.",
     "请求正文必须是 JSON。", "Send Content-Type: application/json."},
    {ErrorCode::payload_too_large, "payload_too_large", 413, "The request is too large.", "请求过大。",
     "Certificates and requests are a few kilobytes at most."},
    {ErrorCode::bad_request, "bad_request", 400, "The request is malformed.", "请求格式错误。",
     "Check the request against the certkey API description."},
    {ErrorCode::not_found, "not_found", 404, "There is no such API resource.", "没有该 API 资源。",
     "Check the path against the certkey API description."},
    {ErrorCode::method_not_allowed, "method_not_allowed", 405, "This method is not allowed here.",
     "此处不允许该方法。", "Check the method against the certkey API description."},
    {ErrorCode::token_not_found, "token_not_found", 404, "The token is not plugged in.", "未插入该介质。",
     "Insert the USB KEY, SD KEY or SIM and try again."},
    {ErrorCode::certificate_not_found, "certificate_not_found", 404, "The token holds no such certificate.",
     "介质中没有该证书。", "List the token's certificates and choose one of them."},
    {ErrorCode::renewal_not_found, "renewal_not_found", 404, "There is no such renewal in progress.",
     "没有进行中的该更新。", "Start the renewal again."},
    {ErrorCode::no_free_key_slot, "no_free_key_slot", 409, "The token has no free place for a new key.",
     "介质没有空闲位置存放新密钥。", "Remove certificates you no longer need, or contact your certificate authority."},
    {ErrorCode::pin_prompt_unavailable, "pin_prompt_unavailable", 503, "The PIN cannot be asked for on this computer.",
     "本机无法输入 PIN 码。", "Ask your administrator to configure a PIN prompt (pinentry) for certkey."},
    {ErrorCode::pin_cancelled, "pin_cancelled", 409, "The PIN entry was cancelled.", "已取消 PIN 码输入。",
     "Try again and enter the token's PIN."},
    {ErrorCode::pin_incorrect, "pin_incorrect", 409, "The PIN is wrong.", "PIN 码错误。",
     "Check the PIN; after a few wrong tries the token locks."},
    {ErrorCode::pin_locked, "pin_locked", 409, "The PIN is locked.", "PIN 码已锁定。",
     "Unlock the PIN with your PUK or through your certificate authority's help desk."},
    {ErrorCode::certificate_mismatch, "certificate_mismatch", 409,
     "The certificate is not for the key this renewal made.", "该证书与本次更新生成的密钥不符。",
     "Submit the certificate issued for this renewal's request."},
    {ErrorCode::token_removed, "token_removed", 409, "The token was removed during the operation.",
     "操作过程中介质被拔出。", "Insert the token again and repeat the operation."},
    {ErrorCode::token_error, "token_error", 502, "The token reported an error.", "介质报告错误。",
     "Remove and insert the token; if it persists, run certkey's diagnosis."},
    {ErrorCode::internal_error, "internal_error", 500, "certkey failed unexpectedly.", "certkey 发生意外错误。",
     "Report this to your administrator."},
}};

constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < kErrors.size(); ++i) {
    if (static_cast<std::size_t>(kErrors[i].code) != i) return false;
  }
  return true;
}
static_assert(in_enum_order(), "error_info() indexes the table by code");

}  // namespace

const ErrorInfo& error_info(ErrorCode code) { return kErrors[static_cast<std::size_t>(code)]; }

std::span<const ErrorInfo> all_errors() { return kErrors; }

nlohmann::json error_body(ErrorCode code, const std::string& detail) {
  const ErrorInfo& e = error_info(code);
  nlohmann::json error = {{"code", e.name},
                          {"message", e.message_en},
                          {"message_zh", e.message_zh},
                          {"hint", e.hint}};
  if (!detail.empty()) error["detail"] = detail;
  return {{"error", error}};
}

}  // namespace certkey::daemon
