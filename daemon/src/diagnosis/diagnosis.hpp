// The one-step diagnosis of the CA rules' "it doesn't work" (口令锁死/驱动安装/介质异常;
// docs/daemon.md, "Diagnosis"): from facts gathered about pcscd, the readers, the tokens,
// their PINs and certificates and the clock, a list of findings, each with a status and a
// message and a hint in English and Chinese. Pure: the facts come in, findings go out.
#pragma once
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "../tokens/token_state.hpp"

namespace certkey::daemon {

struct CertificateFacts {
  std::uint32_t serial = 0;
  std::string id;
  std::string subject;
  std::string not_before, not_after;  // ISO 8601
  std::string chain;                  // certificate_status.hpp's names
  std::string revocation;
  std::string detail;
};

struct DiagnosisFacts {
  bool pcscd_reachable = false;
  std::string pcscd_error;
  struct Reader {
    std::string name;
    bool card_present = false;
    std::string driver;  // what the reader's driver says it is ("certkey USB KEY")
  };
  std::vector<Reader> readers;
  bool usb_key_plugged_in = false;  // a device with certkey's USB VID:PID (sysfs)
  struct Token {
    TokenState state;
    bool answered = false;  // it answered TOKEN INFO just now
    std::string problem;    // why not
  };
  std::vector<Token> tokens;
  std::vector<CertificateFacts> certificates;
  unsigned reminder_days = 30;
  std::time_t now = 0;
};

enum class FindingStatus { ok, info, warning, error };

struct Finding {
  std::string check;  // "pcscd", "readers", "usbkey_driver", "sdkey_driver", "card", "token",
                      // "pin", "puk", "certificate", "clock"
  FindingStatus status = FindingStatus::ok;
  std::optional<std::uint32_t> token;
  std::optional<std::string> certificate;
  std::string message_en, message_zh, hint_en, hint_zh;
};

std::vector<Finding> diagnose(const DiagnosisFacts& facts);
nlohmann::json findings_json(const std::vector<Finding>& findings);

}  // namespace certkey::daemon
