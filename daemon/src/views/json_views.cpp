#include "json_views.hpp"

#include <mutex>

#include "text.hpp"

namespace certkey::daemon {

using nlohmann::json;

namespace {

json certificate_json(const CertificateInfo& c) {
  return {{"id", display_text(c.id, kMaxShortText)},
          {"label", display_text(c.label, kMaxLabel)},
          {"subject", display_text(c.subject, kMaxName)},
          {"issuer", display_text(c.issuer, kMaxName)},
          {"serial_number", display_text(c.serial_number, kMaxShortText)},
          {"not_before", display_text(c.not_before, kMaxShortText)},
          {"not_after", display_text(c.not_after, kMaxShortText)}};
}

}  // namespace

json token_json(const TokenState& t) {
  json certificates = json::array();
  for (const CertificateInfo& c : t.certificates) certificates.push_back(certificate_json(c));
  return {{"serial", t.serial},
          {"medium", t.medium},
          {"label", display_text(t.label, kMaxLabel)},
          {"reader", display_text(t.reader, kMaxReader)},
          {"pin_state", pin_state_name(t.pin)},
          {"pin_tries_left", t.pin.tries_left},
          {"certificates", certificates}};
}

std::shared_ptr<const std::string> token_list_text(
    const std::shared_ptr<const TokenSnapshot>& snapshot) {
  std::call_once(snapshot->list_once, [&] {
    json tokens = json::array();
    for (const TokenState& t : snapshot->tokens) tokens.push_back(token_json(t));
    snapshot->list_text = std::make_shared<const std::string>(json_text({{"tokens", tokens}}));
  });
  return snapshot->list_text;
}

json renewal_json(const Renewal& r) {
  json view = {{"id", r.id},         {"token", r.serial},        {"certificate", r.certificate_id},
               {"key", r.key_id},    {"algorithm", r.algorithm}, {"state", state_name(r.state)},
               {"origin", r.origin}, {"created", r.created},     {"updated", r.updated}};
  if (!r.csr_pem.empty()) view["csr"] = r.csr_pem;
  if (!r.authorization.empty()) view["authorization"] = r.authorization;
  return view;
}

}  // namespace certkey::daemon
