#include "error_code.hpp"

#include <array>

#include "../views/text.hpp"

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxDetail = 512;

// Same order as the enum.
constexpr std::array<ErrorInfo, 30> kErrors = {{
    {ErrorCode::bad_host, "bad_host", 403, "The request was not addressed to the local certkey service.",
     "请求的目标不是本机 certkey 服务。", "Open the page again; if it persists, the page is not one certkey serves."},
    {ErrorCode::origin_not_allowed, "origin_not_allowed", 403, "This web site may not use the certkey service.",
     "该网站无权使用 certkey 服务。", "Use your certificate authority's own service page."},
    {ErrorCode::foreign_user, "foreign_user", 403, "The request came from another user's program on this computer.",
     "请求来自本机其他用户的程序。", "Each user's browser talks to that user's own certkey service."},
    {ErrorCode::missing_request_header, "missing_request_header", 403,
     "The request lacks the X-Certkey-Request header.", "请求缺少 X-Certkey-Request 头。",
     "Use the certkey client library, which sets it."},
    {ErrorCode::unsupported_media_type, "unsupported_media_type", 415, "The request body must be JSON.",
     "请求正文必须是 JSON。", "Send Content-Type: application/json."},
    {ErrorCode::payload_too_large, "payload_too_large", 413, "The request is too large.", "请求过大。",
     "Certificates and requests are a few kilobytes at most."},
    {ErrorCode::headers_too_large, "headers_too_large", 431, "The request headers are too large.", "请求头过大。",
     "Send only the headers the certkey API needs."},
    {ErrorCode::uri_too_long, "uri_too_long", 414, "The request path is too long.", "请求路径过长。",
     "Check the path against the certkey API description."},
    {ErrorCode::bad_request, "bad_request", 400, "The request is malformed.", "请求格式错误。",
     "Check the request against the certkey API description."},
    {ErrorCode::not_found, "not_found", 404, "There is no such API resource or command.", "没有该 API 资源或命令。",
     "Check the path or command name against the certkey API description."},
    {ErrorCode::method_not_allowed, "method_not_allowed", 405, "This method is not allowed here.",
     "此处不允许该方法。", "Check the method against the certkey API description."},
    {ErrorCode::upgrade_required, "upgrade_required", 426, "Events are delivered over a WebSocket.",
     "事件通过 WebSocket 推送。", "Open a WebSocket to this address."},
    {ErrorCode::pin_not_accepted, "pin_not_accepted", 403, "This web site may not send PINs to certkey.",
     "该网站不得向 certkey 发送 PIN 码。", "Leave the PIN out: certkey asks for it in its own trusted window."},
    {ErrorCode::rate_limited, "rate_limited", 429, "Too many requests from this web site; wait a moment.",
     "该网站请求过于频繁，请稍候。", "Try again in a minute."},
    {ErrorCode::too_many_connections, "too_many_connections", 503, "The certkey service is handling too many connections.",
     "certkey 服务连接过多。", "Close other pages that use certkey, then try again."},
    {ErrorCode::token_not_found, "token_not_found", 404, "The token is not plugged in.", "未插入该介质。",
     "Insert the USB KEY, SD KEY or SIM and try again."},
    {ErrorCode::certificate_not_found, "certificate_not_found", 404, "The token holds no such certificate.",
     "介质中没有该证书。", "List the token's certificates and choose one of them."},
    {ErrorCode::renewal_not_found, "renewal_not_found", 404, "There is no such renewal in progress.",
     "没有进行中的该更新。", "Start the renewal again."},
    {ErrorCode::no_free_key_slot, "no_free_key_slot", 409, "The token has no free place for a new key.",
     "介质没有空闲位置存放新密钥。", "Remove certificates you no longer need, or contact your certificate authority."},
    {ErrorCode::pin_prompt_unavailable, "pin_prompt_unavailable", 503, "The PIN cannot be asked for on this computer.",
     "本机无法输入 PIN 码。", "Ask your administrator to install a pinentry program (pinentry-gnome3 or pinentry-curses)."},
    {ErrorCode::pin_cancelled, "pin_cancelled", 409, "The PIN entry was cancelled.", "已取消 PIN 码输入。",
     "Try again and enter the token's PIN."},
    {ErrorCode::pin_prompt_timed_out, "pin_prompt_timed_out", 409, "The PIN was not entered in time.",
     "未在规定时间内输入 PIN 码。", "Try again and enter the PIN when certkey's window asks for it."},
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
    {ErrorCode::operation_timed_out, "operation_timed_out", 504, "The operation did not finish in time.",
     "操作未能在规定时间内完成。", "Check that the token is plugged in and try again."},
    {ErrorCode::daemon_stopping, "daemon_stopping", 503, "The certkey service is stopping.", "certkey 服务正在停止。",
     "Try again in a moment; the service starts again when needed."},
    {ErrorCode::internal_error, "internal_error", 500, "certkey failed unexpectedly.", "certkey 发生意外错误。",
     "Report this to your administrator."},
}};

constexpr bool in_enum_order() {
  for (std::size_t i = 0; i < kErrors.size(); ++i) {
    if (static_cast<std::size_t>(kErrors[i].code) != i) return false;
  }
  return kErrors.back().code == ErrorCode::internal_error;
}
static_assert(in_enum_order(), "error_info() indexes the table by code");

}  // namespace

const ErrorInfo& error_info(ErrorCode code) { return kErrors[static_cast<std::size_t>(code)]; }

std::span<const ErrorInfo> all_errors() { return kErrors; }

nlohmann::json error_body(ErrorCode code, const std::string& detail) {
  const ErrorInfo& e = error_info(code);
  nlohmann::json error = {{"code", e.name}, {"message", e.message_en}, {"message_zh", e.message_zh}, {"hint", e.hint}};
  if (!detail.empty()) error["detail"] = display_text(detail, kMaxDetail);
  return {{"error", error}};
}

}  // namespace certkey::daemon
