#include "error_code.hpp"

#include <array>

#include "../views/text.hpp"

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxDetail = 512;

// Same order as the enum.
constexpr std::array<ErrorInfo, 47> kErrors = {{
    {ErrorCode::bad_host, "bad_host", 403,
     "The request was not addressed to the local certkey service.",
     "请求的目标不是本机 certkey 服务。",
     "Open the page again; if it persists, the page is not one certkey serves.",
     "请重新打开页面；若仍出现，说明该页面不由 certkey 提供服务。"},
    {ErrorCode::origin_not_allowed, "origin_not_allowed", 403,
     "This web site may not use the certkey service.", "该网站无权使用 certkey 服务。",
     "Use your certificate authority's own service page.",
     "请使用您的证书颁发机构（CA）自己的服务页面。"},
    {ErrorCode::foreign_user, "foreign_user", 403,
     "The request came from another user's program on this computer.",
     "请求来自本机其他用户的程序。",
     "Each user's browser talks to that user's own certkey service.",
     "每位用户的浏览器只能访问该用户自己的 certkey 服务。"},
    {ErrorCode::missing_request_header, "missing_request_header", 403,
     "The request lacks the X-Certkey-Request header.", "请求缺少 X-Certkey-Request 头。",
     "Use the certkey client library, which sets it.", "请使用会设置该请求头的 certkey 客户端库。"},
    {ErrorCode::unsupported_media_type, "unsupported_media_type", 415,
     "The request body must be JSON.", "请求正文必须是 JSON。",
     "Send Content-Type: application/json.", "请发送 Content-Type: application/json。"},
    {ErrorCode::payload_too_large, "payload_too_large", 413, "The request is too large.",
     "请求过大。", "Certificates and requests are a few kilobytes at most.",
     "证书和证书请求最多只有几千字节。"},
    {ErrorCode::headers_too_large, "headers_too_large", 431, "The request headers are too large.",
     "请求头过大。", "Send only the headers the certkey API needs.",
     "只发送 certkey API 需要的请求头。"},
    {ErrorCode::uri_too_long, "uri_too_long", 414, "The request path is too long.",
     "请求路径过长。", "Check the path against the certkey API description.",
     "请对照 certkey API 说明检查路径。"},
    {ErrorCode::bad_request, "bad_request", 400, "The request is malformed.", "请求格式错误。",
     "Check the request against the certkey API description.", "请对照 certkey API 说明检查请求。"},
    {ErrorCode::not_found, "not_found", 404, "There is no such API resource or command.",
     "没有该 API 资源或命令。",
     "Check the path or command name against the certkey API description.",
     "请对照 certkey API 说明检查路径或命令名。"},
    {ErrorCode::method_not_allowed, "method_not_allowed", 405, "This method is not allowed here.",
     "此处不允许该方法。", "Check the method against the certkey API description.",
     "请对照 certkey API 说明检查请求方法。"},
    {ErrorCode::upgrade_required, "upgrade_required", 426, "Events are delivered over a WebSocket.",
     "事件通过 WebSocket 推送。", "Open a WebSocket to this address.",
     "请向该地址建立 WebSocket 连接。"},
    {ErrorCode::pin_not_accepted, "pin_not_accepted", 403,
     "This web site may not send PINs to certkey.", "该网站不得向 certkey 发送 PIN 码。",
     "Leave the PIN out: certkey asks for it in its own trusted window.",
     "请不要发送 PIN 码：certkey 会在自己的可信窗口中询问。"},
    {ErrorCode::rate_limited, "rate_limited", 429,
     "Too many requests from this web site; wait a moment.", "该网站请求过于频繁，请稍候。",
     "Try again in a minute.", "请一分钟后再试。"},
    {ErrorCode::too_many_connections, "too_many_connections", 503,
     "The certkey service is handling too many connections.", "certkey 服务连接过多。",
     "Close other pages that use certkey, then try again.",
     "请关闭其他使用 certkey 的页面后重试。"},
    {ErrorCode::token_not_found, "token_not_found", 404, "The token is not plugged in.",
     "未插入该介质。", "Insert the USB KEY, SD KEY or SIM and try again.",
     "请插入 USB KEY、SD KEY 或 SIM 卡后重试。"},
    {ErrorCode::certificate_not_found, "certificate_not_found", 404,
     "The token holds no such certificate.", "介质中没有该证书。",
     "List the token's certificates and choose one of them.", "请列出介质中的证书，并从中选择。"},
    {ErrorCode::renewal_not_found, "renewal_not_found", 404,
     "There is no such renewal in progress.", "没有进行中的该更新。", "Start the renewal again.",
     "请重新开始更新。"},
    {ErrorCode::no_free_key_slot, "no_free_key_slot", 409,
     "The token has no free place for a new key.", "介质没有空闲位置存放新密钥。",
     "Remove certificates you no longer need, or contact your certificate authority.",
     "请删除不再需要的证书，或联系您的证书颁发机构。"},
    {ErrorCode::pin_prompt_unavailable, "pin_prompt_unavailable", 503,
     "The PIN cannot be asked for on this computer.", "本机无法输入 PIN 码。",
     "Ask your administrator to install a pinentry program (pinentry-gnome3 or pinentry-curses).",
     "请管理员安装 pinentry 程序（pinentry-gnome3 或 pinentry-curses）。"},
    {ErrorCode::pin_cancelled, "pin_cancelled", 409, "The PIN entry was cancelled.",
     "已取消 PIN 码输入。", "Try again and enter the token's PIN.", "请重试并输入介质的 PIN 码。"},
    {ErrorCode::pin_prompt_timed_out, "pin_prompt_timed_out", 409,
     "The PIN was not entered in time.", "未在规定时间内输入 PIN 码。",
     "Try again and enter the PIN when certkey's window asks for it.",
     "请重试，并在 certkey 窗口询问时输入 PIN 码。"},
    {ErrorCode::pin_incorrect, "pin_incorrect", 409, "The PIN is wrong.", "PIN 码错误。",
     "Check the PIN; after a few wrong tries the token locks.",
     "请核对 PIN 码；多次输错后介质将被锁定。"},
    {ErrorCode::pin_locked, "pin_locked", 409, "The PIN is locked.", "PIN 码已锁定。",
     "Unlock the PIN with your PUK or through your certificate authority's help desk.",
     "请用 PUK 码或通过证书颁发机构的客服解锁 PIN 码。"},
    {ErrorCode::certificate_mismatch, "certificate_mismatch", 409,
     "The certificate is not for the key it must go with.", "该证书与对应的密钥不符。",
     "Submit the certificate the CA issued for this token's request.",
     "请提交证书颁发机构为该介质的证书请求签发的证书。"},
    {ErrorCode::renewal_in_progress, "renewal_in_progress", 409,
     "This certificate is already being renewed.", "该证书已有进行中的更新。",
     "Finish or cancel the renewal in progress (listRenewals shows it).",
     "请完成或取消进行中的更新（listRenewals 可查看）。"},
    {ErrorCode::renewal_state_conflict, "renewal_state_conflict", 409,
     "The renewal is not at a step where this can be done.", "该更新当前所处的步骤不允许此操作。",
     "Get the renewal to see its state.", "请查询该更新以了解其状态。"},
    {ErrorCode::certificate_untrusted, "certificate_untrusted", 422,
     "The certificate was not issued by a certificate authority this computer trusts.",
     "该证书不是由本机信任的证书颁发机构签发的。",
     "Submit the certificate your certificate authority issued, with its chain; the administrator "
     "configures the "
     "trusted authorities.",
     "请提交证书颁发机构签发的证书及其证书链；受信任的颁发机构由管理员配置。"},
    {ErrorCode::certificate_wrong_subject, "certificate_wrong_subject", 422,
     "The certificate names another holder than the certificate it replaces.",
     "该证书的持有者与被替换的证书不同。", "Submit the certificate issued for this holder.",
     "请提交为该持有者签发的证书。"},
    {ErrorCode::certificate_not_valid_now, "certificate_not_valid_now", 422,
     "The certificate is expired or not yet valid.", "该证书已过期或尚未生效。",
     "Check this computer's date and time, then submit a certificate that is valid now.",
     "请检查本机的日期和时间，然后提交当前有效的证书。"},
    {ErrorCode::ca_unreachable, "ca_unreachable", 502,
     "The certificate authority's server could not be reached.", "无法连接证书颁发机构的服务器。",
     "Check its address and the network, then try again; the renewal waits for its certificate.",
     "请检查服务器地址和网络后重试；该更新仍在等待证书。"},
    {ErrorCode::ca_refused, "ca_refused", 502,
     "The certificate authority's server did not issue the certificate.",
     "证书颁发机构的服务器未签发证书。",
     "Its answer is in the detail; the renewal waits for its certificate, which you can also give "
     "with certkey renew "
     "--cert-in.",
     "详情中有服务器的答复；该更新仍在等待证书，也可以用 certkey renew --cert-in 提交证书。"},
    {ErrorCode::revoke_declined, "revoke_declined", 409, "You chose to keep the certificate.",
     "您选择了保留该证书。", "Nothing was deleted; start again if you do want it removed.",
     "未删除任何内容；如确需删除，请重新操作。"},
    {ErrorCode::new_pin_invalid, "new_pin_invalid", 422, "A new PIN has 6 to 8 characters.",
     "新 PIN 码须为 6 至 8 位。", "Choose a PIN of 6 to 8 characters.",
     "请设置 6 至 8 位的 PIN 码。"},
    {ErrorCode::new_pin_mismatch, "new_pin_mismatch", 422, "The two entries of the new PIN differ.",
     "两次输入的新 PIN 码不一致。",
     "Try again and type the same new PIN twice; nothing was changed.",
     "请重试并两次输入相同的新 PIN 码；未做任何更改。"},
    {ErrorCode::puk_incorrect, "puk_incorrect", 409, "The PUK is wrong.", "PUK 码错误。",
     "Check the PUK from your token's letter; after a few wrong tries it locks for good.",
     "请核对介质随附信函中的 PUK 码；多次输错后将永久锁定。"},
    {ErrorCode::puk_locked, "puk_locked", 409, "The PUK is locked.", "PUK 码已锁定。",
     "Unlock the PIN through your certificate authority's help desk (remote unlock).",
     "请通过证书颁发机构客服远程解锁 PIN 码。"},
    {ErrorCode::unlock_code_invalid, "unlock_code_invalid", 422,
     "The response code was not read correctly.", "应答码有误。",
     "Ask the help desk to read the response code again; no try was used.",
     "请客服重新读一遍应答码；未消耗尝试次数。"},
    {ErrorCode::unlock_response_incorrect, "unlock_response_incorrect", 409,
     "The help desk's response does not answer this challenge.", "客服的应答码与本次挑战码不符。",
     "Start a new unlock: read the new challenge code to the help desk.",
     "请重新发起解锁，并向客服读出新的挑战码。"},
    {ErrorCode::unlock_blocked, "unlock_blocked", 409, "Remote unlock is blocked on this token.",
     "该介质的远程解锁已被锁定。", "Contact your certificate authority to replace the token.",
     "请联系证书颁发机构补办介质。"},
    {ErrorCode::no_unlock_challenge, "no_unlock_challenge", 409,
     "The token has no challenge waiting for a response.", "介质没有等待应答的挑战码。",
     "Start the unlock again; a challenge ends when the token is unplugged or a new one is made.",
     "请重新发起解锁；拔出介质或生成新挑战码后，原挑战码失效。"},
    {ErrorCode::unlock_not_available, "unlock_not_available", 409,
     "This token cannot be unlocked remotely.", "该介质不支持远程解锁。",
     "Unblock the PIN with the PUK, or contact your certificate authority.",
     "请用 PUK 码解锁，或联系证书颁发机构。"},
    {ErrorCode::token_removed, "token_removed", 409, "The token was removed during the operation.",
     "操作过程中介质被拔出。", "Insert the token again and repeat the operation.",
     "请重新插入介质并重复操作。"},
    {ErrorCode::token_error, "token_error", 502, "The token reported an error.", "介质报告错误。",
     "Remove and insert the token; if it persists, run certkey's diagnosis.",
     "请拔出并重新插入介质；若仍出错，请运行 certkey 诊断。"},
    {ErrorCode::operation_timed_out, "operation_timed_out", 504,
     "The operation did not finish in time.", "操作未能在规定时间内完成。",
     "Check that the token is plugged in and try again.", "请确认介质已插好后重试。"},
    {ErrorCode::daemon_stopping, "daemon_stopping", 503, "The certkey service is stopping.",
     "certkey 服务正在停止。", "Try again in a moment; the service starts again when needed.",
     "请稍后重试；服务会在需要时重新启动。"},
    {ErrorCode::internal_error, "internal_error", 500, "certkey failed unexpectedly.",
     "certkey 发生意外错误。", "Report this to your administrator.",
     "请将此问题报告给您的管理员。"},
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
  nlohmann::json error = {{"code", e.name},
                          {"message", e.message_en},
                          {"message_zh", e.message_zh},
                          {"hint", e.hint_en},
                          {"hint_zh", e.hint_zh}};
  if (!detail.empty()) error["detail"] = display_text(detail, kMaxDetail);
  return {{"error", error}};
}

}  // namespace certkey::daemon
