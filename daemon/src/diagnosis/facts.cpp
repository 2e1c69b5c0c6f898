#include "facts.hpp"

#include <certkey/card/pcsc.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

#include "../certs/certificate_status.hpp"
#include "../config/config.hpp"
#include "../core/error_code.hpp"
#include "../tokens/token_registry.hpp"

namespace certkey::daemon {
namespace {

constexpr auto kTokenAnswerWait = std::chrono::seconds(5);

// certkey's USB VID:PID (docs/usbkey.md), as sysfs lists USB devices.
bool usb_key_plugged_in() {
  std::error_code ec;
  for (const auto& device : std::filesystem::directory_iterator("/sys/bus/usb/devices", ec)) {
    std::string vendor, product;
    std::ifstream(device.path() / "idVendor") >> vendor;
    std::ifstream(device.path() / "idProduct") >> product;
    if (vendor == "1209" && product == "0001") return true;
  }
  return false;
}

// Asks the token for TOKEN INFO on its own worker, and brings its view up to date.
DiagnosisFacts::Token probe(Services& services, const TokenState& token) {
  struct Probe {
    std::promise<void> done;
    std::string problem;
  };
  auto probe = std::make_shared<Probe>();
  std::future<void> answered = probe->done.get_future();
  TokenRegistry& tokens = services.tokens;
  const bool queued = tokens.run_on(token.serial, [probe, &tokens](CK_SLOT_ID slot) {
    try {
      tokens.module().certkey_token_info(slot);
      tokens.revalidate(slot);
    } catch (const std::exception& e) {
      probe->problem = e.what();
    }
    probe->done.set_value();
  });
  DiagnosisFacts::Token result{token, false, "it was removed"};
  if (!queued) return result;
  if (answered.wait_for(kTokenAnswerWait) != std::future_status::ready) {
    result.problem = "it is busy with another operation (a PIN prompt may be open)";
    return result;
  }
  result.answered = probe->problem.empty();
  result.problem = probe->problem;
  // The snapshot is held while its token is copied: find() points into it.
  const std::shared_ptr<const TokenSnapshot> snapshot = services.tokens.snapshot();
  if (const TokenState* fresh = snapshot->find(token.serial)) result.state = *fresh;
  return result;
}

}  // namespace

std::vector<CertificateFacts> certificate_facts(Services& services,
                                                const std::vector<TokenState>& tokens) {
  std::vector<CertificateFacts> out;
  const std::time_t now = std::time(nullptr);
  for (const TokenState& token : tokens) {
    for (const CertificateInfo& c : token.certificates) {
      const CertificateStatus status = services.certificates.check(c.der, now);
      out.push_back({token.serial, c.id, c.subject, c.not_before, c.not_after,
                     std::string(chain_name(status.chain)),
                     std::string(revocation_name(status.revocation)), status.detail});
    }
  }
  return out;
}

DiagnosisFacts gather_facts(Services& services) {
  DiagnosisFacts facts;
  facts.now = std::time(nullptr);
  facts.reminder_days = services.config.reminder_days;
  const card::ReaderSurvey survey = card::survey_readers();
  facts.pcscd_reachable = survey.reachable;
  facts.pcscd_error = survey.error;
  for (const auto& r : survey.readers) facts.readers.push_back({r.name, r.card_present, r.driver});
  facts.usb_key_plugged_in = usb_key_plugged_in();
  std::vector<TokenState> answered;
  const std::shared_ptr<const TokenSnapshot> snapshot = services.tokens.snapshot();
  for (const TokenState& token : snapshot->tokens) {
    facts.tokens.push_back(probe(services, token));
    if (facts.tokens.back().answered) answered.push_back(facts.tokens.back().state);
  }
  facts.certificates = certificate_facts(services, answered);
  return facts;
}

}  // namespace certkey::daemon
