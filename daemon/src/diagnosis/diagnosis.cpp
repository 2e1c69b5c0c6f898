#include "diagnosis.hpp"

#include <algorithm>

#include "../core/x509_text.hpp"
#include "../views/text.hpp"

namespace certkey::daemon {
namespace {

constexpr std::size_t kMaxShown = 128;  // of a reader name or subject inside a message

// What certkey's drivers say they are (SCARD_ATTR_VENDOR_IFD_TYPE, drivers/ifd).
constexpr std::string_view kUsbKeyDriver = "certkey USB KEY";
constexpr std::string_view kSdKeyDriver = "certkey SD KEY";

std::string shown(std::string_view text) { return display_text(text, kMaxShown); }

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

Finding finding(std::string check, FindingStatus status, std::string en, std::string zh,
                std::string hint_en = {}, std::string hint_zh = {}) {
  return {std::move(check), status,        std::nullopt,       std::nullopt,
          std::move(en),    std::move(zh), std::move(hint_en), std::move(hint_zh)};
}

Finding about_token(Finding f, std::uint32_t serial) {
  f.token = serial;
  return f;
}

void check_drivers(const DiagnosisFacts& facts, std::vector<Finding>& out) {
  const auto has_reader = [&](std::string_view driver) {
    return std::any_of(facts.readers.begin(), facts.readers.end(),
                       [&](const DiagnosisFacts::Reader& r) { return r.driver == driver; });
  };
  if (has_reader(kUsbKeyDriver)) {
    out.push_back(finding("usbkey_driver", FindingStatus::ok, "certkey's USB KEY driver is loaded.",
                          "certkey 的 USB KEY 驱动已加载。"));
  } else if (facts.usb_key_plugged_in) {
    out.push_back(finding("usbkey_driver", FindingStatus::error,
                          "A USB KEY is plugged in, but certkey's driver is not loaded.",
                          "已插入 USB KEY，但 certkey 的驱动未加载。",
                          "Install certkey (its driver goes to /usr/lib/pcsc/drivers), then unplug "
                          "the key and plug it in again.",
                          "请安装 certkey（驱动位于 /usr/lib/pcsc/drivers），然后重新插拔介质。"));
  } else {
    out.push_back(finding("usbkey_driver", FindingStatus::info, "No USB KEY is plugged in.",
                          "未插入 USB KEY。"));
  }
  if (has_reader(kSdKeyDriver)) {
    out.push_back(finding("sdkey_driver", FindingStatus::ok, "certkey's SD KEY driver is loaded.",
                          "certkey 的 SD KEY 驱动已加载。"));
  } else {
    out.push_back(finding(
        "sdkey_driver", FindingStatus::info, "No SD KEY reader is set up.",
        "未配置 SD KEY 读卡器。",
        "To use an SD KEY, add certkey's SD KEY entry to /etc/reader.conf.d and restart pcscd.",
        "如需使用 SD KEY，请在 /etc/reader.conf.d 中添加 certkey 的 SD KEY 配置并重启 pcscd。"));
  }
}

// A reader name as the module shows it is at most 64 bytes of the real one.
bool same_reader(const std::string& pcsc_name, const std::string& module_name) {
  return !module_name.empty() && starts_with(pcsc_name, module_name);
}

void check_cards(const DiagnosisFacts& facts, std::vector<Finding>& out) {
  for (const DiagnosisFacts::Reader& reader : facts.readers) {
    if (!reader.card_present) continue;
    const bool ours = std::any_of(
        facts.tokens.begin(), facts.tokens.end(),
        [&](const DiagnosisFacts::Token& t) { return same_reader(reader.name, t.state.reader); });
    if (ours) continue;
    out.push_back(
        finding("card", FindingStatus::warning,
                "The card in \"" + shown(reader.name) + "\" does not answer as a certkey token.",
                "读卡器「" + shown(reader.name) + "」中的卡未能作为 certkey 介质应答。",
                "Remove it and insert it again. If it persists, it is not a certkey token, or it "
                "is damaged.",
                "请取出后重新插入。若仍如此，说明它不是 certkey 介质，或已损坏。"));
  }
}

void check_pin(const TokenState& token, const PinStatus& status, bool puk,
               std::vector<Finding>& out) {
  const std::string what = puk ? "PUK" : "PIN";
  const std::string what_zh = puk ? "PUK 码" : "PIN 码";
  Finding f = finding(puk ? "puk" : "pin", FindingStatus::ok, "The " + what + " is usable.",
                      what_zh + "可用。");
  if (status.tries_left == 0) {
    f = puk ? finding("puk", FindingStatus::warning, "The PUK is locked.", "PUK 码已锁定。",
                      "Only the help desk can unlock a forgotten PIN now (remote unlock).",
                      "今后忘记 PIN 码时只能通过客服远程解锁。")
            : finding("pin", FindingStatus::error, "The PIN is locked.", "PIN 码已锁定。",
                      "Unblock it with the PUK, or through your certificate authority's help desk "
                      "(remote unlock).",
                      "请用 PUK 码解锁，或通过证书颁发机构客服远程解锁。");
  } else if (status.tries_left < status.limit) {
    f = finding(puk ? "puk" : "pin", FindingStatus::warning,
                std::to_string(status.tries_left) + " " + what + " tries are left.",
                what_zh + "剩余 " + std::to_string(status.tries_left) + " 次尝试机会。",
                "Enter it carefully; a correct entry restores the tries.",
                "请仔细输入；输入正确后尝试次数将恢复。");
  } else if (status.is_default) {
    f = finding(puk ? "puk" : "pin", FindingStatus::warning,
                "The " + what + " is still the one the token came with.",
                what_zh + "仍是出厂默认值。",
                "Change it: anyone who knows the default can use the token.",
                "请修改：知道默认值的人都能使用该介质。");
  }
  out.push_back(about_token(f, token.serial));
}

void check_tokens(const DiagnosisFacts& facts, std::vector<Finding>& out) {
  for (const DiagnosisFacts::Token& t : facts.tokens) {
    const std::string name = shown(t.state.label) + " (" + std::to_string(t.state.serial) + ")";
    if (!t.answered) {
      out.push_back(
          about_token(finding("token", FindingStatus::error,
                              "Token " + name + " does not answer: " + shown(t.problem) + ".",
                              "介质 " + name + " 无应答：" + shown(t.problem) + "。",
                              "Remove the token and insert it again, then run the diagnosis again.",
                              "请拔出并重新插入介质，然后再次诊断。"),
                      t.state.serial));
      continue;
    }
    out.push_back(
        about_token(finding("token", FindingStatus::ok,
                            "Token " + name + " answers in \"" + shown(t.state.reader) + "\".",
                            "介质 " + name + " 在「" + shown(t.state.reader) + "」中应答正常。"),
                    t.state.serial));
    check_pin(t.state, t.state.pin, false, out);
    check_pin(t.state, t.state.puk, true, out);
  }
}

Finding certificate_finding(const CertificateFacts& c, const DiagnosisFacts& facts) {
  const std::string subject = "\"" + shown(c.subject) + "\"";
  const std::string now = iso_time(facts.now);
  const std::string soon =
      iso_time(facts.now + static_cast<std::time_t>(facts.reminder_days) * 86400);
  // A superseded certificate waits in a retired slot until retention removes it: its expiry
  // is expected, and nothing uses it.
  if (is_retired_id(c.id)) {
    return finding("certificate", FindingStatus::ok,
                   "The certificate " + subject + " in retired slot " + c.id +
                       " is an earlier one, kept but no longer used.",
                   "证书" + subject + "位于备用槽位 " + c.id + "，是保留的旧证书，已不再使用。");
  }
  if (c.not_after < now) {
    return finding("certificate", FindingStatus::error,
                   "The certificate " + subject + " expired on " + c.not_after + ".",
                   "证书" + subject + "已于 " + c.not_after + " 过期。",
                   "Apply to your certificate authority for a new certificate.",
                   "请向证书颁发机构申请新证书。");
  }
  if (c.not_before > now) {
    return finding("certificate", FindingStatus::error,
                   "The certificate " + subject + " is not valid before " + c.not_before + ".",
                   "证书" + subject + "在 " + c.not_before + " 之前无效。",
                   "Check this computer's date and time.", "请检查本机的日期和时间。");
  }
  if (c.revocation == "revoked") {
    return finding("certificate", FindingStatus::error,
                   "The certificate " + subject + " has been revoked.",
                   "证书" + subject + "已被吊销。", "Contact your certificate authority.",
                   "请联系证书颁发机构。");
  }
  if (c.chain == "untrusted") {
    return finding(
        "certificate", FindingStatus::warning,
        "The certificate " + subject + " does not chain to a trusted certificate authority.",
        "证书" + subject + "无法链接到受信任的证书颁发机构。",
        "Ask your administrator to configure your certificate authority as trusted.",
        "请管理员将您的证书颁发机构配置为受信任。");
  }
  if (c.not_after < soon) {
    return finding("certificate", FindingStatus::warning,
                   "The certificate " + subject + " expires on " + c.not_after + ".",
                   "证书" + subject + "将于 " + c.not_after + " 过期。",
                   "Renew it now on your certificate authority's service page.",
                   "请尽快在证书颁发机构的服务页面更新证书。");
  }
  if (c.revocation == "unknown") {
    return finding("certificate", FindingStatus::info,
                   "The certificate " + subject + " is valid until " + c.not_after +
                       "; its revocation status could not be checked.",
                   "证书" + subject + "有效期至 " + c.not_after + "；无法查询其吊销状态。",
                   "Check the network connection to your certificate authority.",
                   "请检查与证书颁发机构的网络连接。");
  }
  return finding("certificate", FindingStatus::ok,
                 "The certificate " + subject + " is valid until " + c.not_after + ".",
                 "证书" + subject + "有效期至 " + c.not_after + "。");
}

void check_clock(const DiagnosisFacts& facts, std::vector<Finding>& out) {
  const CertificateFacts* newest = nullptr;
  for (const CertificateFacts& c : facts.certificates) {
    if (!newest || c.not_before > newest->not_before) newest = &c;
  }
  if (newest && newest->not_before > iso_time(facts.now)) {
    out.push_back(finding("clock", FindingStatus::warning,
                          "This computer's clock (" + iso_time(facts.now) +
                              ") is earlier than the start of the certificate \"" +
                              shown(newest->subject) + "\" (" + newest->not_before + ").",
                          "本机时钟（" + iso_time(facts.now) + "）早于证书「" +
                              shown(newest->subject) + "」的生效时间（" + newest->not_before +
                              "）。",
                          "Set the date and time (enable network time), then try again.",
                          "请校正日期和时间（启用网络校时）后重试。"));
  } else {
    out.push_back(finding("clock", FindingStatus::ok, "The clock agrees with the certificates.",
                          "本机时钟与证书相符。"));
  }
}

const char* status_name(FindingStatus status) {
  switch (status) {
    case FindingStatus::ok: return "ok";
    case FindingStatus::info: return "info";
    case FindingStatus::warning: return "warning";
    case FindingStatus::error: break;
  }
  return "error";
}

}  // namespace

std::vector<Finding> diagnose(const DiagnosisFacts& facts) {
  std::vector<Finding> out;
  if (!facts.pcscd_reachable) {
    out.push_back(finding(
        "pcscd", FindingStatus::error,
        "The smart card service (pcscd) cannot be reached: " + shown(facts.pcscd_error) + ".",
        "无法连接智能卡服务（pcscd）：" + shown(facts.pcscd_error) + "。",
        "Install and start it: sudo apt install pcscd; sudo systemctl start pcscd.socket.",
        "请安装并启动：sudo apt install pcscd；sudo systemctl start pcscd.socket。"));
    check_clock(facts, out);
    return out;
  }
  out.push_back(finding("pcscd", FindingStatus::ok, "The smart card service (pcscd) is running.",
                        "智能卡服务（pcscd）运行正常。"));
  if (facts.readers.empty()) {
    out.push_back(
        finding("readers", FindingStatus::warning, "No card reader or token is connected.",
                "未连接任何读卡器或介质。",
                "Plug in your USB KEY, insert your SD KEY, or put your SIM in its reader.",
                "请插入 USB KEY、SD KEY，或将 SIM 卡放入读卡器。"));
  } else {
    std::string names;
    for (const auto& r : facts.readers) names += (names.empty() ? "" : ", ") + shown(r.name);
    out.push_back(finding("readers", FindingStatus::ok,
                          std::to_string(facts.readers.size()) + " reader(s): " + names + ".",
                          std::to_string(facts.readers.size()) + " 个读卡器：" + names + "。"));
  }
  check_drivers(facts, out);
  check_cards(facts, out);
  check_tokens(facts, out);
  for (const CertificateFacts& c : facts.certificates) {
    Finding f = certificate_finding(c, facts);
    f.token = c.serial;
    f.certificate = c.id;
    out.push_back(std::move(f));
  }
  check_clock(facts, out);
  return out;
}

nlohmann::json findings_json(const std::vector<Finding>& findings) {
  nlohmann::json list = nlohmann::json::array();
  for (const Finding& f : findings) {
    nlohmann::json item = {{"check", f.check},
                           {"status", status_name(f.status)},
                           {"message", f.message_en},
                           {"message_zh", f.message_zh}};
    if (!f.hint_en.empty()) {
      item["hint"] = f.hint_en;
      item["hint_zh"] = f.hint_zh;
    }
    if (f.token) item["token"] = *f.token;
    if (f.certificate) item["certificate"] = *f.certificate;
    list.push_back(std::move(item));
  }
  return list;
}

}  // namespace certkey::daemon
