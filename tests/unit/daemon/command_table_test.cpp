// The command table (daemon/src/handlers/command_table.cpp, core/command.hpp): its names are
// exactly the operationIds of daemon/openapi/certkey-v1.json, and each command's parser takes
// the documented arguments only, refusing anything else with bad_request (STYLE rule 13;
// DESIGN.md section 6, security model item 3: a PIN in a request is refused, not ignored).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <set>

#include "core/command.hpp"

namespace certkey::daemon {
namespace {

using nlohmann::json;

const std::string kId = "0123456789abcdef0123456789abcdef";

json openapi() {
  std::ifstream in(CERTKEY_OPENAPI_FILE);
  return json::parse(in);
}

// A real certificate, as PEM: self-signed over a fresh P-256 key.
std::string certificate_pem() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("certkey test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  X509_sign(cert.get(), key.get(), EVP_sha256());
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), cert.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::unique_ptr<Command> parse(std::string_view command, const json& args) {
  const CommandSpec* spec = find_command(command);
  if (!spec) throw std::logic_error("no command " + std::string(command));
  return spec->parse(args);
}

// `args` is refused with bad_request (and nothing but an ApiError escapes).
void expect_refused(std::string_view command, const json& args) {
  try {
    parse(command, args);
    ADD_FAILURE() << command << " accepted " << args.dump();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), ErrorCode::bad_request) << command << " " << args.dump();
  }
}

TEST(CommandTable, Names_AreTheOperationIdsOfTheOpenApiFile) {
  const json spec = openapi();
  std::set<std::string> documented, table;
  for (const auto& [path, operations] : spec["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      if (operation.is_object() && operation.contains("operationId")) {
        documented.insert(operation["operationId"].get<std::string>());
      }
    }
  }
  for (const CommandSpec& command : all_commands()) {
    EXPECT_TRUE(table.insert(std::string(command.name)).second) << command.name;
    EXPECT_NE(command.parse, nullptr) << command.name;
    EXPECT_EQ(find_command(command.name), &command);
  }
  EXPECT_EQ(table, documented);
  EXPECT_EQ(find_command("deleteEverything"), nullptr);
}

TEST(CommandTable, PostOperations_AreTheStateChangingCommands) {
  const json document = openapi();
  for (const auto& [path, operations] : document["paths"].items()) {
    for (const auto& [method, operation] : operations.items()) {
      if (!operation.is_object() || !operation.contains("operationId")) continue;
      const CommandSpec* spec = find_command(operation["operationId"].get<std::string>());
      ASSERT_NE(spec, nullptr) << path;
      EXPECT_EQ(spec->effect == Effect::change, method == "post") << spec->name;
    }
  }
}

// A legacy origin's `pin` stands in for the prompt only where the holder's PIN logs in;
// the unblock and the remote unlock ask for a PUK or a new PIN and refuse it.
TEST(CommandTable, ThePinIsAskedOnlyByCommandsThatLogIn) {
  std::set<std::string> asking;
  for (const CommandSpec& spec : all_commands()) {
    if (!spec.asks_pin) continue;
    asking.insert(std::string(spec.name));
    EXPECT_EQ(spec.effect, Effect::change) << spec.name;
  }
  EXPECT_EQ(asking, (std::set<std::string>{"beginRenewal", "completeRenewal", "cancelRenewal",
                                           "changeCertificate", "revokeCertificate", "changePin"}));
}

TEST(CommandTable, EveryParser_RefusesArgumentsThatAreNotAnObject) {
  for (const CommandSpec& spec : all_commands()) {
    for (const json& args : {json::array(), json(nullptr), json("x"), json(1)}) {
      expect_refused(spec.name, args);
    }
  }
}

TEST(ListTokens, AnyMember_IsBadRequest) {
  EXPECT_NE(parse("listTokens", json::object()), nullptr);
  expect_refused("listTokens", json::parse(R"({"token": 1})"));
  expect_refused("watchEvents", json::parse(R"({"since": 0})"));
}

TEST(BeginRenewal, AnythingButATokenSerialAndACertificateId_IsBadRequest) {
  EXPECT_NE(parse("beginRenewal", json::parse(R"({"token": 4294967295, "certificate": "0a"})")),
            nullptr);
  for (const char* args : {
           R"({"token": "x", "certificate": "01"})",
           R"({"token": -1, "certificate": "01"})",
           R"({"token": 4294967296, "certificate": "01"})",
           R"({"token": 1.5, "certificate": "01"})",
           R"({"token": 1, "certificate": "1A"})",
           R"({"token": 1, "certificate": "1"})",
           R"({"token": 1, "certificate": "001"})",
           R"({"token": 1, "certificate": 1})",
           R"({"token": 1})",
           R"({"certificate": "01"})",
           R"({"token": 1, "certificate": "01", "pin": "123456"})",
       }) {
    expect_refused("beginRenewal", json::parse(args));
  }
}

TEST(GetRenewal, IdNot32LowerCaseHexDigits_IsBadRequest) {
  EXPECT_NE(parse("getRenewal", json({{"id", kId}})), nullptr);
  for (const json& id : {json("0123456789ABCDEF0123456789ABCDEF"), json(kId.substr(1)),
                         json(kId + "0"), json("g123456789abcdef0123456789abcdef"), json(5)}) {
    expect_refused("getRenewal", json({{"id", id}}));
  }
  expect_refused("getRenewal", json::object());
  expect_refused("getRenewal", json({{"id", kId}, {"origin", "https://ca.example.cn"}}));
}

TEST(CompleteRenewal, CertificateNotAPemCertificate_IsBadRequest) {
  const std::string pem = certificate_pem();
  EXPECT_NE(parse("completeRenewal", json({{"id", kId}, {"certificate", pem}})), nullptr);
  for (const json& certificate :
       {json("not a certificate"), json(""), json(5),
        json("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        json(pem.substr(0, pem.size() / 2)), json(pem + std::string(9000, '\n'))}) {
    expect_refused("completeRenewal", json({{"id", kId}, {"certificate", certificate}}));
  }
  expect_refused("completeRenewal", json({{"id", "x"}, {"certificate", pem}}));
  expect_refused("completeRenewal", json({{"id", kId}}));
  expect_refused("completeRenewal", json({{"id", kId}, {"certificate", pem}, {"pin", "1234"}}));
}

}  // namespace
}  // namespace certkey::daemon
