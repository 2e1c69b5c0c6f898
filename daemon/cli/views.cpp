#include "views.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

#include "tokens/token_state.hpp"

namespace certkey::cli {
namespace {

using nlohmann::json;

std::string text_of(const json& object, const char* member) {
  const auto it = object.find(member);
  return it != object.end() && it->is_string() ? terminal_safe(it->get<std::string>())
                                               : std::string();
}

std::string medium_name(const std::string& medium, Language l) {
  static const std::map<std::string, Text> names = {{"usbkey", {"USB KEY", "USB KEY"}},
                                                    {"sdkey", {"SD KEY", "SD KEY"}},
                                                    {"sim", {"SIM", "SIM 卡"}},
                                                    {"smartcard", {"smart card", "智能卡"}}};
  const auto it = names.find(medium);
  return it == names.end() ? terminal_safe(medium) : it->second.in(l);
}

std::string pin_text(const json& token, Language l) {
  static const std::map<std::string, Text> states = {
      {"ok", {"ok", "正常"}},
      {"count_low", {"tries running low", "剩余次数不多"}},
      {"final_try", {"one try left", "仅剩最后一次"}},
      {"locked", {"blocked", "已锁定"}}};
  const std::string state = text_of(token, "pin_state");
  const auto it = states.find(state);
  const std::string said = it == states.end() ? state : it->second.in(l);
  const std::string tries = std::to_string(token.value("pin_tries_left", 0));
  if (state == "locked") {
    return l == Language::zh
               ? "PIN：已锁定（请用 PUK 或通过服务台远程解锁）"
               : "PIN: blocked (unblock it with the PUK, or remotely with the help desk)";
  }
  return l == Language::zh ? "PIN：" + said + "，剩余 " + tries + " 次尝试"
                           : "PIN: " + said + ", " + tries + " tries left";
}

// "2027-12-07T13:13:51Z" as a time, or -1.
std::time_t parse_time(const std::string& iso) {
  std::tm t{};
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ", &t.tm_year, &t.tm_mon, &t.tm_mday,
                  &t.tm_hour, &t.tm_min, &t.tm_sec) != 6) {
    return -1;
  }
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  return ::timegm(&t);
}

std::string day_of(const std::string& iso) { return iso.substr(0, 10); }

std::string validity_text(const json& certificate, Language l, std::time_t now) {
  const std::string not_after = text_of(certificate, "not_after"),
                    not_before = text_of(certificate, "not_before");
  const std::time_t end = parse_time(not_after), start = parse_time(not_before);
  if (start > now) {
    return l == Language::zh ? "尚未生效（" + day_of(not_before) + " 起有效）"
                             : "not valid before " + day_of(not_before);
  }
  if (end < now)
    return l == Language::zh ? "已于 " + day_of(not_after) + " 过期"
                             : "expired on " + day_of(not_after);
  const long days = static_cast<long>((end - now) / 86400);
  return l == Language::zh
             ? "有效期至 " + day_of(not_after) + "（剩余 " + std::to_string(days) + " 天）"
             : "valid until " + day_of(not_after) + " (" + std::to_string(days) + " days left)";
}

// Renewal is due from kRenewalDueDays before expiry, until it has expired.
std::string renewal_due_line(const json& certificate, Language l, std::time_t now) {
  const std::time_t end = parse_time(text_of(certificate, "not_after"));
  if (end < now || end - now > static_cast<std::time_t>(kRenewalDueDays) * 86400) return "";
  return l == Language::zh
             ? "      需要更新：请在证书颁发机构的服务页面更新此证书。\n"
             : "      Renewal due: renew it on your certificate authority's service page.\n";
}

std::string status_words(const json* status, Language l) {
  if (!status) return "";
  static const std::map<std::string, Text> chain = {
      {"valid", {"chain valid", "证书链有效"}},
      {"untrusted", {"chain not trusted", "证书链不受信任"}},
      {"expired", {"chain expired", "证书链已过期"}},
      {"not_yet_valid", {"chain not yet valid", "证书链尚未生效"}},
      {"not_checked", {"chain not checked", "未检查证书链"}}};
  static const std::map<std::string, Text> revocation = {
      {"good", {"not revoked", "未吊销"}},
      {"revoked", {"REVOKED", "已吊销"}},
      {"unknown", {"revocation unknown", "吊销状态未知"}},
      {"not_checked", {"revocation not checked", "未检查吊销状态"}}};
  auto word = [&](const std::map<std::string, Text>& table, const char* member) {
    const auto it = table.find(text_of(*status, member));
    return it == table.end() ? text_of(*status, member) : it->second.in(l);
  };
  return (l == Language::zh ? "；" : "; ") + word(chain, "chain") +
         (l == Language::zh ? "，" : ", ") + word(revocation, "revocation");
}

const json* status_of(const json& certificates, std::uint64_t token, const std::string& id) {
  if (!certificates.contains("certificates") || !certificates["certificates"].is_array())
    return nullptr;
  for (const json& c : certificates["certificates"]) {
    if (c.value("token", std::uint64_t{0}) == token && c.value("id", "") == id) return &c;
  }
  return nullptr;
}

std::string certificate_lines(const json& token, const json& certificates, Language l,
                              std::time_t now) {
  const json& held = token.contains("certificates") ? token["certificates"] : json::array();
  if (held.empty()) return l == Language::zh ? "  无证书\n" : "  no certificate\n";
  // In slot order: the certificates in use (01-04) before the retired ones.
  std::vector<const json*> sorted;
  for (const json& c : held) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(),
            [](const json* a, const json* b) { return text_of(*a, "id") < text_of(*b, "id"); });
  std::string out;
  for (const json* held_one : sorted) {
    const json& c = *held_one;
    const std::string id = text_of(c, "id");
    out += "  " + id + "  " + text_of(c, "subject") + "\n      ";
    if (daemon::is_retired_id(id)) {
      out += l == Language::zh
                 ? "备用槽位中的旧证书，已保留，不再使用\n"
                 : "an earlier certificate in a retired slot, kept but no longer used\n";
      continue;
    }
    out += validity_text(c, l, now) +
           status_words(status_of(certificates, token.value("serial", std::uint64_t{0}), id), l) +
           "\n" + renewal_due_line(c, l, now);
  }
  return out;
}

std::string token_heading(const json& token, Language l) {
  return medium_name(text_of(token, "medium"), l) + " " +
         std::to_string(token.value("serial", std::uint64_t{0})) +
         (l == Language::zh ? "，读卡器「" : " in \"") + text_of(token, "reader") +
         (l == Language::zh ? "」" : "\"");
}

std::string no_token(Language l) {
  return l == Language::zh ? "未检测到介质。请插入 USB KEY、SIM 卡或 SD KEY。\n"
                           : "No token is plugged in. Plug in your USB KEY, SIM or SD KEY.\n";
}

}  // namespace

std::string spoken_code(std::string code) {
  for (char& c : code) c = c == '-' ? ' ' : c;
  return code;
}

std::string terminal_safe(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += '?';  // C1 control, U+0080-U+009F
      ++i;
    } else {
      out += c < 0x20 || c == 0x7F ? '?' : static_cast<char>(c);
    }
  }
  return out;
}

std::string status_text(const json& tokens, const json& certificates, Language l, std::time_t now) {
  const json& list = tokens.contains("tokens") ? tokens["tokens"] : json::array();
  if (list.empty()) return no_token(l);
  std::string out;
  for (const json& token : list) {
    if (!out.empty()) out += "\n";
    out += token_heading(token, l) + "\n  " + pin_text(token, l) + "\n" +
           certificate_lines(token, certificates, l, now);
  }
  return out;
}

std::string list_text(const json& tokens, Language l) {
  const json& list = tokens.contains("tokens") ? tokens["tokens"] : json::array();
  if (list.empty()) return no_token(l);
  std::string out;
  for (const json& token : list) {
    const std::size_t count = token.contains("certificates") ? token["certificates"].size() : 0;
    out += token_heading(token, l) + (l == Language::zh
                                          ? "：" + std::to_string(count) + " 张证书\n"
                                          : ": " + std::to_string(count) + " certificate(s)\n");
  }
  return out;
}

std::string diagnosis_text(const json& diagnosis, Language l) {
  static const std::map<std::string, Text> marks = {{"ok", {"[ok]     ", "[正常]  "}},
                                                    {"info", {"[info]   ", "[提示]  "}},
                                                    {"warning", {"[warning]", "[警告]  "}},
                                                    {"error", {"[error]  ", "[错误]  "}}};
  std::string out;
  for (const json& f : diagnosis.value("findings", json::array())) {
    const auto mark = marks.find(text_of(f, "status"));
    out += (mark == marks.end() ? text_of(f, "status") : mark->second.in(l)) + " " +
           text_of(f, l == Language::zh ? "message_zh" : "message") + "\n";
    const std::string hint = text_of(f, l == Language::zh ? "hint_zh" : "hint");
    if (!hint.empty()) out += "          -> " + hint + "\n";
  }
  return out;
}

namespace {

// certificateExpiring: each certificate with its days left.
std::string expiring_text(const json& data, Language l) {
  std::string out;
  const json certificates = data.contains("certificates") && data["certificates"].is_array()
                                ? data["certificates"]
                                : json::array();
  for (const json& c : certificates) {
    if (!c.is_object()) continue;
    const std::string days = std::to_string(c.value("days_left", 0L));
    out += (out.empty() ? "" : "; ") + terminal_safe(text_of(c, "subject")) +
           (l == Language::zh ? " 将在 " + days + " 天后到期，请更新"
                              : " expires in " + days + " days; renew it");
  }
  return out;
}

}  // namespace

std::string event_text(const json& event, Language l, std::time_t now) {
  static const std::map<std::string, Text> what = {
      {"tokenInserted", {"plugged in", "已插入"}},
      {"tokenRemoved", {"pulled out", "已拔出"}},
      {"tokenChanged", {"changed", "已变更"}},
      {"tokenReconciled", {"interrupted work finished", "中断的操作已完成"}}};
  char clock[16];
  std::tm local{};
  std::strftime(clock, sizeof clock, "%H:%M:%S", ::localtime_r(&now, &local));
  const std::string name = text_of(event, "event");
  const json& data =
      event.contains("data") && event["data"].is_object() ? event["data"] : json::object();
  std::string subject;
  if (data.contains("token") && data["token"].is_object())
    subject = token_heading(data["token"], l);
  else
    subject = (l == Language::zh ? "介质 " : "token ") +
              std::to_string(data.value("token", std::uint64_t{0}));
  const auto it = what.find(name);
  std::string happened = it == what.end() ? name : it->second.in(l);
  if (name == "tokenReconciled" && data.contains("error")) {
    happened = l == Language::zh
                   ? "中断的操作未能完成，下次插入时重试"
                   : "interrupted work not finished; tried again at its next insertion";
  }
  if (name == "certificateExpiring") happened = expiring_text(data, l);
  return std::string(clock) + "  " + subject + (l == Language::zh ? "：" : ": ") + happened;
}

std::string error_text(const json& error, Language l) {
  std::string out = text_of(error, l == Language::zh ? "message_zh" : "message");
  if (out.empty()) out = text_of(error, "code");
  // What exactly failed (the CA's answer, the token's), for whoever helps.
  const std::string detail = terminal_safe(text_of(error, "detail"));
  if (!detail.empty()) out += (l == Language::zh ? "（" + detail + "）" : " (" + detail + ")");
  const std::string hint = text_of(error, l == Language::zh ? "hint_zh" : "hint");
  if (!hint.empty()) out += "\n" + hint;
  return out + "\n";
}

}  // namespace certkey::cli
