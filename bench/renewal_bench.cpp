// renewal-bench: what a renewal through certkeyd costs beyond the token's own cryptography
// (docs/benchmarks.md, "Renewal"). Side by side, on the same token:
//   - N renewals through certkeyd's HTTP API (beginRenewal, the CA issues, completeRenewal;
//     the CA's time is not counted), with the PIN in the request (an origin in legacy mode),
//     so that the prompt program's start, which is the user's time, is not counted either;
//   - N times, through the PKCS#11 module directly, the token's own work in a renewal: a key
//     pair made, the request signed with it, the authorization signed with the renewed key.
// The difference of the medians is the daemon's overhead: sessions, object lookups, the
// state database's durable writes, the certificate written and read back, the swap, HTTP.
//
//   renewal-bench --module PATH --port PORT --origin ORIGIN --token SERIAL --ca-issue COMMAND
//                 [--iterations N] [--sim-control SOCKET --sim-token NAME]
//
// COMMAND is run as `COMMAND IN.csr OUT.pem` to have the CA issue a certificate. With the
// simulator's control socket and the token's name there, the APDUs of both sides are counted
// too. Prints one JSON object.
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim_stats.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr char kPin[] = "123456";

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

json summary(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
  };
  return {{"median", at(0.5)}, {"p90", at(0.9)}, {"min", values.front()}};
}

struct Options {
  std::string module, origin, token, ca_issue, sim_control, sim_token;
  unsigned short port = 0;
  int iterations = 8;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i], value = argv[i + 1];
    if (name == "--module")
      o.module = value;
    else if (name == "--port")
      o.port = static_cast<unsigned short>(std::stoi(value));
    else if (name == "--origin")
      o.origin = value;
    else if (name == "--token")
      o.token = value;
    else if (name == "--ca-issue")
      o.ca_issue = value;
    else if (name == "--iterations")
      o.iterations = std::stoi(value);
    else if (name == "--sim-control")
      o.sim_control = value;
    else if (name == "--sim-token")
      o.sim_token = value;
    else
      throw std::runtime_error("unknown option " + name);
  }
  if (o.module.empty() || !o.port || o.origin.empty() || o.token.empty() || o.ca_issue.empty() ||
      o.iterations < 1) {
    throw std::runtime_error(
        "usage: renewal-bench --module PATH --port PORT --origin ORIGIN --token SERIAL --ca-issue "
        "COMMAND "
        "[--iterations N] [--sim-control SOCKET --sim-token NAME]");
  }
  return o;
}

// One keep-alive connection to certkeyd, as a page on the origin sends requests.
class Api {
 public:
  Api(const Options& o) : options_(o), stream_(io_) {
    stream_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), o.port));
  }
  json post(const std::string& target, const json& body) {
    http::request<http::string_body> request(http::verb::post, target, 11);
    request.set(http::field::host, "127.0.0.1:" + std::to_string(options_.port));
    request.set(http::field::origin, options_.origin);
    request.set(http::field::content_type, "application/json");
    request.set("X-Certkey-Request", "1");
    request.body() = body.dump();
    request.prepare_payload();
    http::write(stream_, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream_, buffer, response);
    json reply = json::parse(response.body());
    if (response.result_int() >= 300) throw std::runtime_error(target + ": " + response.body());
    return reply;
  }

 private:
  const Options& options_;
  asio::io_context io_;
  beast::tcp_stream stream_;
};

std::string run_ca(const Options& o, const std::string& csr_pem) {
  std::ofstream("bench-renewal.csr") << csr_pem;
  if (std::system((o.ca_issue + " bench-renewal.csr bench-renewal.pem").c_str()) != 0) {
    throw std::runtime_error("the CA did not issue");
  }
  std::stringstream pem;
  pem << std::ifstream("bench-renewal.pem").rdbuf();
  return pem.str();
}

// APDUs per iteration, from the simulator's counter around a loop (the CA touches no token).
class ApduCount {
 public:
  explicit ApduCount(const Options& o)
      : o_(o), before_(simulator_apdus(o.sim_control, o.sim_token)) {}
  std::optional<double> per_iteration() const {
    const std::optional<long> after = simulator_apdus(o_.sim_control, o_.sim_token);
    if (!before_ || !after) return std::nullopt;
    return static_cast<double>(*after - *before_) / o_.iterations;
  }

 private:
  const Options& o_;
  std::optional<long> before_;
};

struct RenewalTimes {
  std::vector<double> begin, complete, total;
  std::optional<double> apdus;
};

RenewalTimes renew(const Options& o) {
  RenewalTimes t;
  Api api(o);
  const ApduCount count(o);
  for (int i = 0; i < o.iterations; ++i) {
    auto start = Clock::now();
    const json begun = api.post(
        "/v1/renewals", {{"token", std::stoul(o.token)}, {"certificate", "01"}, {"pin", kPin}});
    const double begin_ms = ms_since(start);
    const std::string certificate = run_ca(o, begun["renewal"]["csr"]);
    start = Clock::now();
    api.post("/v1/renewals/" + begun["renewal"]["id"].get<std::string>() + "/complete",
             {{"certificate", certificate}, {"pin", kPin}});
    const double complete_ms = ms_since(start);
    t.begin.push_back(begin_ms);
    t.complete.push_back(complete_ms);
    t.total.push_back(begin_ms + complete_ms);
  }
  t.apdus = count.per_iteration();
  return t;
}

void check(CK_RV rv, const char* what) {
  if (rv != CKR_OK)
    throw std::runtime_error(std::string(what) + " failed: CKR " + std::to_string(rv));
}

// The token's own work in one renewal, through the module: key generation in a spare retired
// slot, the request's signature with the new key, the authorization's with the key in 01.
struct CryptoTimes {
  std::vector<double> keygen, sign, total;
  std::optional<double> apdus;
};

CryptoTimes token_crypto(const Options& o) {
  void* library = dlopen(o.module.c_str(), RTLD_NOW);
  if (!library) throw std::runtime_error(dlerror());
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR p11 = nullptr;
  check(get_list(&p11), "C_GetFunctionList");
  check(p11->C_Initialize(nullptr), "C_Initialize");
  CK_ULONG count = 16;
  CK_SLOT_ID slots[16];
  check(p11->C_GetSlotList(CK_TRUE, slots, &count), "C_GetSlotList");
  CK_SLOT_ID slot = 0;
  bool found = false;
  for (CK_ULONG i = 0; i < count; ++i) {
    CK_TOKEN_INFO info;
    check(p11->C_GetTokenInfo(slots[i], &info), "C_GetTokenInfo");
    const std::string serial(reinterpret_cast<char*>(info.serialNumber), sizeof info.serialNumber);
    if (serial.substr(0, serial.find(' ')) == o.token) slot = slots[i], found = true;
  }
  if (!found) throw std::runtime_error("no token " + o.token);
  CK_SESSION_HANDLE session;
  check(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session),
        "C_OpenSession");
  check(p11->C_Login(session, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(kPin)),
                     6),
        "C_Login");

  CK_BYTE p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
  CK_BYTE spare_id = 0x18, current_id = 0x01;  // the last retired slot; the renewed slot
  CK_BBOOL yes = CK_TRUE;
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  const std::vector<CK_BYTE> request(300, 0x30), authorization(1400, 0x65);  // their typical sizes
  CryptoTimes t;
  const ApduCount apdus(o);
  for (int i = 0; i < o.iterations; ++i) {
    CK_ATTRIBUTE public_template[] = {
        {CKA_EC_PARAMS, p256, sizeof p256}, {CKA_ID, &spare_id, 1}, {CKA_TOKEN, &yes, 1}};
    CK_ATTRIBUTE private_template[] = {
        {CKA_ID, &spare_id, 1}, {CKA_SIGN, &yes, 1}, {CKA_TOKEN, &yes, 1}};
    CK_MECHANISM generate = {CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE public_key, private_key;
    auto start = Clock::now();
    check(p11->C_GenerateKeyPair(session, &generate, public_template, 3, private_template, 3,
                                 &public_key, &private_key),
          "C_GenerateKeyPair");
    const double keygen_ms = ms_since(start);

    CK_ATTRIBUTE find_current[] = {{CKA_CLASS, &private_class, sizeof private_class},
                                   {CKA_ID, &current_id, 1}};
    CK_OBJECT_HANDLE current_key;
    CK_ULONG found_count = 0;
    check(p11->C_FindObjectsInit(session, find_current, 2), "C_FindObjectsInit");
    check(p11->C_FindObjects(session, &current_key, 1, &found_count), "C_FindObjects");
    p11->C_FindObjectsFinal(session);
    if (found_count != 1) throw std::runtime_error("no key in 01");

    CK_MECHANISM ecdsa = {CKM_ECDSA_SHA256, nullptr, 0};
    CK_BYTE signature[132];
    start = Clock::now();
    for (const auto& [key, message] :
         {std::pair{private_key, &request}, std::pair{current_key, &authorization}}) {
      CK_ULONG length = sizeof signature;
      check(p11->C_SignInit(session, &ecdsa, key), "C_SignInit");
      check(p11->C_Sign(session, const_cast<CK_BYTE*>(message->data()), message->size(), signature,
                        &length),
            "C_Sign");
    }
    const double sign_ms = ms_since(start);
    check(p11->C_DestroyObject(session, private_key), "C_DestroyObject");
    t.keygen.push_back(keygen_ms);
    t.sign.push_back(sign_ms);
    t.total.push_back(keygen_ms + sign_ms);
  }
  t.apdus = apdus.per_iteration();
  p11->C_Logout(session);
  p11->C_CloseSession(session);
  p11->C_Finalize(nullptr);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    const RenewalTimes renewal = renew(o);
    const CryptoTimes crypto = token_crypto(o);
    const json renewal_ms = summary(renewal.total), crypto_ms = summary(crypto.total);
    const double overhead = renewal_ms["median"].get<double>() - crypto_ms["median"].get<double>();
    json out = {{"benchmark", "renewal"},
                {"iterations", o.iterations},
                {"renewal_ms", renewal_ms},
                {"begin_ms", summary(renewal.begin)},
                {"complete_ms", summary(renewal.complete)},
                {"token_crypto_ms", crypto_ms},
                {"token_keygen_ms", summary(crypto.keygen)},
                {"token_signatures_ms", summary(crypto.sign)},
                {"overhead_ms", overhead},
                {"target_ms", 20},
                {"met", overhead < 20}};
    if (renewal.apdus && crypto.apdus) {
      out["renewal_apdus"] = *renewal.apdus;
      out["token_crypto_apdus"] = *crypto.apdus;
    }
    std::printf("%s\n", out.dump().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "renewal-bench: %s\n", e.what());
    return 1;
  }
}
