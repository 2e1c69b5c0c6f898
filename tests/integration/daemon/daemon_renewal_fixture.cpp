#include "daemon_renewal_fixture.hpp"

#include <sstream>

namespace certkey::test {
namespace {

std::string module_path() { return build_dir() + "/pkcs11-module/src/libcertkey-pkcs11.so"; }

// pkcs11-tool's model names for the media.
std::string model_of(const std::string& medium) {
  if (medium == "usbkey") return "USB KEY";
  if (medium == "sdkey") return "SD KEY";
  return "SIM";
}

}  // namespace

void RenewalFixture::prepare(const std::string& medium) {
  ASSERT_NO_FATAL_FAILURE(find_token(medium));
  old_pem_ = provision_certificate(serial_, "renewal holder", ca_);
}

void RenewalFixture::find_token(const std::string& medium) {
  dir_ = temp_dir();
  // The token of this medium, from pkcs11-tool's slot list: its reader ("certkey tokenN
  // 00 00") names it for the simulator, its label carries the serial.
  std::istringstream slots(
      shell_output("pkcs11-tool --module " + module_path() + " --list-token-slots 2>/dev/null"));
  std::string line, reader, model;
  for (std::string current_reader; std::getline(slots, line);) {
    if (line.rfind("Slot ", 0) == 0) current_reader = line.substr(line.find("): ") + 3);
    if (line.find("token model") != std::string::npos) model = line.substr(line.find(": ") + 2);
    while (!model.empty() && model.back() == ' ') model.pop_back();
    if (line.find("serial num") != std::string::npos && model == model_of(medium) && !serial_) {
      serial_ = static_cast<std::uint32_t>(std::stoul(line.substr(line.rfind(' ') + 1)));
      reader = current_reader;
    }
  }
  ASSERT_NE(serial_, 0u) << "no " << medium << " token";
  token_name_ = reader.substr(reader.find(' ') + 1, reader.find(" 00") - reader.find(' ') - 1);
}

void RenewalFixture::TearDown() { daemon_.reset(); }

void RenewalFixture::start_daemon(bool intermediates, unsigned superseded_days) {
  options_.trust_anchors = {ca_.root_path()};
  options_.intermediates =
      intermediates ? std::vector<std::string>{ca_.issuing_path()} : std::vector<std::string>{};
  options_.superseded_days = superseded_days;
  if (options_.state_dir.empty()) options_.state_dir = dir_ + "/state";
  daemon_ = std::make_unique<Daemon>(options_);
}

void RenewalFixture::restart_daemon(bool intermediates, unsigned superseded_days) {
  if (daemon_ && daemon_->running()) daemon_->terminate();
  daemon_.reset();
  options_.fault_point.clear();
  options_.fault_action.clear();
  start_daemon(intermediates, superseded_days);
}

json RenewalFixture::unix_call(const std::string& command, const json& args, const json& extra) {
  UnixClient client(daemon_->socket_path);
  return client.call(command, args, extra);
}

namespace {

// An envelope reply as {"status", "body"}, the body as HTTP would have it.
json answer(const json& reply) {
  if (!reply.is_object()) return {{"status", 0}, {"body", nullptr}};  // the daemon went away
  const json body =
      reply.contains("error") ? json{{"error", reply["error"]}} : reply.value("result", json());
  return {{"status", reply.value("status", 0)}, {"body", body}};
}

}  // namespace

json RenewalFixture::begin() {
  return answer(unix_call("beginRenewal", {{"token", serial_}, {"certificate", "01"}},
                          {{"origin", kPortal}}));
}

json RenewalFixture::complete(const std::string& id, const std::string& certificate,
                              const std::string& chain) {
  json args = {{"id", id}, {"certificate", certificate}};
  if (!chain.empty()) args["chain"] = chain;
  return answer(unix_call("completeRenewal", args, {{"origin", kPortal}}));
}

json RenewalFixture::get_renewal(const std::string& id) {
  return answer(unix_call("getRenewal", {{"id", id}}, {{"origin", kPortal}}));
}

// Returns once pcscd has seen the token go: a vpcd reader that is emptied and filled again
// between two of pcscd's presence polls looks to pcscd as if nothing happened.
void RenewalFixture::pull() {
  sim("remove " + token_name_);
  ASSERT_EQ(shell(build_dir() + "/tests/harness/pcsc-wait --timeout 30 --reader '" + token_name_ +
                  " 00 00' --absent"),
            0);
}

json RenewalFixture::insert_and_wait_for_reconciliation() {
  // Without records of the token, the daemon has nothing to reconcile and says nothing more
  // than tokenInserted.
  const bool records = !daemon_->renewal_states().empty();
  UnixClient events(daemon_->socket_path);
  EXPECT_EQ(events.call("watchEvents")["status"], 200);
  sim("insert " + token_name_);
  bool inserted = false;
  for (;;) {
    json event = events.next_event();
    if (event.is_null()) return event;
    const json& data = event["data"];
    if (event["event"] == "tokenInserted" && data["token"]["serial"] == serial_) {
      if (!records) return event;
      inserted = true;
    }
    if (inserted && event["event"] == "tokenReconciled" && data["token"] == serial_) return event;
  }
}

std::string RenewalFixture::certificate_in(const std::string& id) const {
  const std::string out = dir_ + "/read.der";
  ::unlink(out.c_str());
  shell("pkcs11-tool --module " + module_path() + " --token-label 'certkey " +
        std::to_string(serial_) + "' --read-object --type cert --id " + id + " -o " + out +
        " >/dev/null 2>&1");
  return read_file(out);
}

// Lists the public-key objects rather than reading one: OpenSC 0.23's --read-object of an EC
// public key uses freed memory, which AddressSanitizer (preloaded for the module) stops.
bool RenewalFixture::has_key(const std::string& id) const {
  const std::string objects =
      shell_output("pkcs11-tool --module " + module_path() + " --token-label 'certkey " +
                   std::to_string(serial_) + "' --list-objects --type pubkey 2>/dev/null");
  return objects.find("ID:         " + id + "\n") != std::string::npos;
}

bool RenewalFixture::signs_with(const std::string& id, const std::string& certificate_pem,
                                const std::string& pin) const {
  write_file(dir_ + "/signer.pem", certificate_pem);
  return shell("cd " + dir_ +
               " && echo 'signed by the renewed slot' > data && "
               "openssl dgst -sha256 -binary data > digest && pkcs11-tool --module " +
               module_path() + " --token-label 'certkey " + std::to_string(serial_) +
               "' --login --pin " + pin + " --sign --id " + id +
               " -m ECDSA --signature-format openssl -i digest -o signature >/dev/null 2>&1 && "
               "openssl x509 -in signer.pem -pubkey -noout > signer.pub && "
               "openssl pkeyutl -verify -pubin -inkey signer.pub -in digest -sigfile signature "
               ">/dev/null 2>&1") == 0;
}

std::string RenewalFixture::verify_authorization(const std::string& jws, const std::string& csr_pem,
                                                 const std::string& certificate_pem) const {
  write_file(dir_ + "/authorization.jws", jws);
  write_file(dir_ + "/request.csr", csr_pem);
  write_file(dir_ + "/renewed.pem", certificate_pem);
  return shell_output(source_dir() + "/examples/ca/verify-renewal-authorization.sh " + dir_ +
                      "/authorization.jws " + dir_ + "/request.csr " + dir_ + "/renewed.pem 2>&1");
}

std::string RenewalFixture::der_of_pem(const std::string& pem) const {
  write_file(dir_ + "/convert.pem", pem);
  shell("openssl x509 -in " + dir_ + "/convert.pem -outform DER -out " + dir_ + "/convert.der");
  return read_file(dir_ + "/convert.der");
}

}  // namespace certkey::test
