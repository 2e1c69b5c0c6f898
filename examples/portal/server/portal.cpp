// certkey-portal: the reference renewal and unlock portal of a CA (docs/portal.md), on
// loopback. It serves the page (examples/portal/site) and the JS client over HTTPS with a
// certificate from the test CA, and backs the page:
//   https  GET  /, the site's files, /client/certkey.js
//          GET  /api/config          the daemon's port and the CA's name, for the page
//          POST /api/renewal         {"csr", "authorization"}: the renewal JWS is checked (signed
//                                    by the key of a certificate this CA issued, for this CSR,
//                                    begun on this portal's origin, recent), then issued
//          POST /api/unlock          {"token", "challenge", "ticket"}: with a help-desk ticket
//                                    for that token, the HSM answers the challenge
//   http   POST /helpdesk/tickets    {"token", "operator"}: a ticket, for the help desk after it
//                                    checked the caller's identity (behind staff sign-on in a
//                                    real deployment)
//          POST /ocsp                OCSP for what the portal issued
//
//   certkey-portal serve --ca-dir DIR --site DIR --client DIR --daemon-port N
//                        --hsm-module PATH --hsm-token LABEL [--port N] [--port-file FILE]
//                        [--audit FILE] [--host NAME]        (the HSM PIN on standard input)
// --host: a name the portal is also reached by (its certificate names it, and its page may
// post from it), as a CA's public name that resolves to loopback in the tests.
//   certkey-portal set-unlock-key --reader TEXT [--sim] --hsm-module PATH --hsm-token LABEL
//                        (standard input: the HSM PIN, then the token's management key in hex)
#include <boost/asio/signal_set.hpp>
#include <certkey/card/error.hpp>
#include <certkey/card/token_client.hpp>
#include <openssl/crypto.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "certificate_authority.hpp"
#include "helpdesk/audit_file.hpp"
#include "helpdesk/unlock_responder.hpp"
#include "loopback_server.hpp"
#include "ticket_book.hpp"

namespace certkey::portal {
namespace {

using namespace certkey::examples;
using json = nlohmann::json;
constexpr char kName[] = "certkey-portal";
constexpr auto kTicketLifetime = std::chrono::minutes(15);
constexpr std::size_t kMaxSiteFile = 1024 * 1024;

struct Options {
  std::string ca_dir, site, client, port_file, audit, reader, hsm_module, hsm_token, host;
  unsigned port = 0, daemon_port = 0;
  bool sim = false;
};

// A line of standard input, wiped when it goes out of scope: the HSM PIN, a management key.
struct SecretLine {
  std::string text;
  ~SecretLine() { OPENSSL_cleanse(text.data(), text.size()); }
};

Response json_answer(const Request& request, http::status status, const json& body) {
  return answer(request, status, "application/json",
                body.dump(-1, ' ', false, json::error_handler_t::replace));
}

Response refuse(const Request& request, http::status status, const std::string& code,
                const std::string& message) {
  return json_answer(request, status, {{"error", {{"code", code}, {"message", message}}}});
}

// The files of the page, read once at start: only these paths are ever served.
class Site {
 public:
  Site(const std::string& site_dir, const std::string& client_dir) {
    add_directory(site_dir, "/");
    add_directory(client_dir, "/client/");
    if (!files_.count("/index.html")) throw std::runtime_error(site_dir + " has no index.html");
    files_["/"] = files_["/index.html"];
  }

  const std::pair<std::string, std::string>* find(const std::string& path) const {
    const auto it = files_.find(path);
    return it == files_.end() ? nullptr : &it->second;
  }

 private:
  void add_directory(const std::string& dir, const std::string& prefix) {
    static const std::map<std::string, std::string> kTypes = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"}};
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      const auto type = kTypes.find(entry.path().extension().string());
      if (!entry.is_regular_file() || type == kTypes.end() || entry.file_size() > kMaxSiteFile)
        continue;
      std::ifstream in(entry.path(), std::ios::binary);
      files_[prefix + entry.path().filename().string()] = {
          type->second, std::string(std::istreambuf_iterator<char>(in), {})};
    }
  }

  std::map<std::string, std::pair<std::string, std::string>> files_;  // path -> type, content
};

class Portal {
 public:
  Portal(const Options& o, test_ca::CertificateAuthority& ca, helpdesk::UnlockResponder& hsm,
         const Site& site)
      : o_(o), ca_(ca), hsm_(hsm), site_(site), tickets_(kTicketLifetime) {}

  void listening(unsigned https_port, unsigned http_port) {
    origins_ = {"https://127.0.0.1:" + std::to_string(https_port),
                "https://localhost:" + std::to_string(https_port)};
    if (!o_.host.empty()) origins_.insert("https://" + o_.host + ":" + std::to_string(https_port));
    helpdesk_host_ = "127.0.0.1:" + std::to_string(http_port);
    ocsp_url_ = "http://" + helpdesk_host_ + "/ocsp";
    // The page reaches the daemon on loopback: nothing else may be fetched or framed.
    const std::string daemon = "127.0.0.1:" + std::to_string(o_.daemon_port);
    csp_ = "default-src 'self'; connect-src 'self' http://" + daemon + " ws://" + daemon +
           "; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
           "base-uri 'none'";
  }

  Response page(const Request& request, X509*) {
    const std::string target(request.target());
    const std::string path = target.substr(0, target.find('?'));
    if (request.method() == http::verb::get) {
      if (path == "/api/config") {
        return json_answer(request, http::status::ok,
                           {{"daemonPort", o_.daemon_port}, {"caName", "certkey Test CA"}});
      }
      const auto* file = site_.find(path);
      if (!file) return text(request, http::status::not_found, "no such page");
      Response r = answer(request, http::status::ok, file->first, file->second);
      r.set("Content-Security-Policy", csp_);
      r.set("X-Content-Type-Options", "nosniff");
      r.set("Referrer-Policy", "no-referrer");
      return r;
    }
    if (request.method() != http::verb::post)
      return text(request, http::status::method_not_allowed, "GET or POST");
    // Only the portal's own page may post: its Origin, and JSON (which needs a preflight).
    if (!origins_.count(std::string(request[http::field::origin])) || !json_type(request)) {
      return refuse(request, http::status::forbidden, "forbidden",
                    "only the portal's own page may post here");
    }
    const json body = json::parse(request.body(), nullptr, false);
    if (!body.is_object())
      return refuse(request, http::status::bad_request, "bad_request",
                    "the body is not a JSON object");
    if (path == "/api/renewal") return renewal(request, body);
    if (path == "/api/unlock") return unlock(request, body);
    return text(request, http::status::not_found, "no such resource");
  }

  Response helpdesk_side(const Request& request, X509*) {
    const std::string target(request.target());
    // For the help desk's own programs: no browser page (which always sends an Origin on a
    // cross-origin POST and cannot send JSON without a preflight), no rebound host name.
    if (request[http::field::host] != helpdesk_host_ || request.count(http::field::origin) ||
        (target != "/ocsp" && !json_type(request))) {
      return text(request, http::status::forbidden, "for the help desk's programs only");
    }
    if (request.method() == http::verb::post && target == "/ocsp") {
      const test_ca::Bytes der(request.body().begin(), request.body().end());
      const test_ca::Bytes response = ca_.ocsp_response(der);
      return answer(request, http::status::ok, "application/ocsp-response",
                    std::string(response.begin(), response.end()));
    }
    if (request.method() == http::verb::post && target == "/helpdesk/tickets")
      return issue_ticket(request);
    return text(request, http::status::not_found, "no such resource");
  }

 private:
  static bool json_type(const Request& request) {
    const auto type = request[http::field::content_type];
    return type == "application/json" || type.starts_with("application/json;");
  }
  static bool string_member(const json& body, const char* name, std::size_t max) {
    return body.contains(name) && body[name].is_string() &&
           body[name].get_ref<const std::string&>().size() <= max;
  }
  static bool serial_member(const json& body) {
    return body.contains("token") && body["token"].is_number_unsigned() &&
           body["token"].get<std::uint64_t>() <= 0xFFFFFFFFu;
  }

  Response renewal(const Request& request, const json& body) {
    if (!string_member(body, "csr", 16384) || !string_member(body, "authorization", 16384)) {
      return refuse(request, http::status::bad_request, "bad_request",
                    "the body is {\"csr\": PEM, \"authorization\": JWS}");
    }
    try {
      const std::string& authorization = body["authorization"].get_ref<const std::string&>();
      const test_ca::RequestPtr csr = ca_.authorized_request(
          body["csr"].get<std::string>(), authorization, std::string(request[http::field::origin]));
      return json_answer(request, http::status::ok, issued_once(authorization, csr.get()));
    } catch (const test_ca::Refusal& e) {
      return refuse(request, http::status::bad_request, "renewal_refused", e.what());
    }
  }

  // One certificate per authorization: the same authorization again (a page retrying after a
  // lost answer, or a replay within its five minutes) gets the certificate already issued.
  json issued_once(const std::string& authorization, X509_REQ* csr) {
    const auto now = Clock::now();
    for (auto it = issued_.begin(); it != issued_.end();) {  // older than any acceptable iat
      it = it->second.first + std::chrono::minutes(10) < now ? issued_.erase(it) : std::next(it);
    }
    auto& [when, answer] = issued_[authorization];
    if (answer.is_null()) {
      const test_ca::X509Ptr certificate = ca_.issue(csr, ocsp_url_);
      when = now;
      answer = ca_.issued_answer(certificate.get());
    }
    return answer;
  }

  Response unlock(const Request& request, const json& body) {
    if (!serial_member(body) || !string_member(body, "challenge", 64)) {
      return refuse(request, http::status::bad_request, "bad_request",
                    "the body is {\"token\": SERIAL, \"challenge\": CODE, \"ticket\": TICKET}");
    }
    const auto serial = body["token"].get<std::uint32_t>();
    card::unlock::Code challenge{};
    try {
      challenge = card::unlock::decode(body["challenge"].get<std::string>());
    } catch (const card::Error& e) {
      return refuse(request, http::status::bad_request, "challenge_invalid", e.what());
    }
    const std::string ticket =
        string_member(body, "ticket", 64) ? body["ticket"].get<std::string>() : std::string();
    const TicketBook::Outcome outcome = tickets_.check(ticket, serial, Clock::now());
    if (outcome != TicketBook::Outcome::accepted) {
      return refuse(request, http::status::forbidden, outcome_code(outcome),
                    "the unlock needs a valid help-desk ticket for this token");
    }
    const card::unlock::Code response = hsm_.respond(serial, challenge);
    const json record = {{"time", helpdesk::utc_now()},
                         {"operator", tickets_.issuer_of(ticket)},
                         {"ticket", ticket},
                         {"serial", serial},
                         {"challenge", card::unlock::encode(challenge)},
                         {"via", "portal"},
                         {"origin", std::string(request[http::field::origin])}};
    if (!helpdesk::append_audit_line(o_.audit, record)) {
      return refuse(request, http::status::service_unavailable, "audit_unavailable",
                    "the audit file cannot be written");
    }
    // Spent once the response is on record (one thread serves every request: no other
    // request can use the ticket in between). An HSM failure above leaves it good.
    tickets_.spend(ticket);
    return json_answer(request, http::status::ok, {{"response", card::unlock::encode(response)}});
  }

  Response issue_ticket(const Request& request) {
    const json body = json::parse(request.body(), nullptr, false);
    if (!body.is_object() || !serial_member(body) || !string_member(body, "operator", 128) ||
        body["operator"].get_ref<const std::string&>().empty()) {
      return refuse(request, http::status::bad_request, "bad_request",
                    "the body is {\"token\": SERIAL, \"operator\": NAME}");
    }
    const std::string ticket = tickets_.issue(body["token"].get<std::uint32_t>(),
                                              body["operator"].get<std::string>(), Clock::now());
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(kTicketLifetime).count();
    return json_answer(request, http::status::created,
                       {{"ticket", ticket}, {"expires_in", seconds}});
  }

  const Options& o_;
  test_ca::CertificateAuthority& ca_;
  helpdesk::UnlockResponder& hsm_;
  const Site& site_;
  TicketBook tickets_;
  std::set<std::string> origins_;
  std::string ocsp_url_, csp_, helpdesk_host_;
  std::map<std::string, std::pair<Clock::time_point, json>>
      issued_;  // authorization -> when, answer
};

int serve(const Options& o) {
  SecretLine pin;
  std::getline(std::cin, pin.text);
  helpdesk::UnlockResponder hsm({o.hsm_module, o.hsm_token}, pin.text);
  test_ca::CertificateAuthority ca(o.ca_dir, 365);
  const Site site(o.site, o.client);
  Portal portal(o, ca, hsm, site);
  asio::io_context io(1);
  tcp::acceptor secure(
      io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(o.port)));
  tcp::acceptor plain(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const unsigned https_port = secure.local_endpoint().port(),
                 http_port = plain.local_endpoint().port();
  portal.listening(https_port, http_port);
  asio::ssl::context tls(asio::ssl::context::tls_server);
  ca.serve_tls_as_minted(tls.native_handle(), o.host);
  const Handler page = [&portal](const Request& r, X509* peer) { return portal.page(r, peer); };
  const Handler helpdesk_side = [&portal](const Request& r, X509* peer) {
    return portal.helpdesk_side(r, peer);
  };
  accept<beast::ssl_stream<beast::tcp_stream>>(secure, kName, page, tls);
  accept<beast::tcp_stream>(plain, kName, helpdesk_side);
  asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](beast::error_code, int) { io.stop(); });
  std::fprintf(stderr,
               "certkey-portal: https://127.0.0.1:%u/ (help desk and OCSP: http://127.0.0.1:%u)\n",
               https_port, http_port);
  if (!o.port_file.empty())
    write_port_file(o.port_file, json{{"https", https_port}, {"http", http_port}}.dump());
  io.run();
  return 0;
}

// Issuance, as the CA's personalisation station does it (docs/unlock.md section 8): the HSM
// derives the token's unlock key from the master key and the serial, and the key is written
// with the token's management key.
int set_unlock_key(const Options& o) {
  SecretLine pin, management;
  std::getline(std::cin, pin.text);
  std::getline(std::cin, management.text);
  // A 3DES management key: 48 hex digits.
  if (management.text.size() != 48 ||
      management.text.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    throw std::runtime_error(
        "the management key is 48 hex digits (3DES), on the second line of standard input");
  }
  card::Bytes management_key;
  for (std::size_t i = 0; i < management.text.size(); i += 2) {
    management_key.push_back(
        static_cast<std::uint8_t>(std::stoul(management.text.substr(i, 2), nullptr, 16)));
  }
  card::Connection connection(o.reader);
  card::Connection::Transaction transaction(connection);
  card::TokenClient client(connection);
  if (o.sim) client.open_logical_channel();
  client.select_piv();
  const std::uint32_t serial = client.token_info().serial;
  helpdesk::UnlockResponder hsm({o.hsm_module, o.hsm_token}, pin.text);
  card::Bytes unlock_key = hsm.issuance_key(serial);
  client.authenticate_management(management_key, protocol::Algorithm::tdes);
  client.set_unlock_key(unlock_key, 3);
  OPENSSL_cleanse(unlock_key.data(), unlock_key.size());
  OPENSSL_cleanse(management_key.data(), management_key.size());
  if (o.sim) client.close_logical_channel();
  std::printf("token %u: unlock key set from the HSM (3 tries)\n", serial);
  return 0;
}

const char* const kUsage =
    "usage: certkey-portal serve --ca-dir DIR --site DIR --client DIR --daemon-port N --hsm-module "
    "PATH\n"
    "                            --hsm-token LABEL [--port N] [--port-file FILE] [--audit FILE] "
    "[--host NAME]\n"
    "         (standard input: the HSM user PIN)\n"
    "       certkey-portal set-unlock-key --reader TEXT [--sim] --hsm-module PATH --hsm-token "
    "LABEL\n"
    "         (standard input: the HSM user PIN, then the token's management key in hex)\n";

bool parse(int argc, char** argv, std::string& action, Options& o) {
  const std::map<std::string, std::string*> strings = {
      {"--ca-dir", &o.ca_dir},         {"--site", &o.site},           {"--client", &o.client},
      {"--port-file", &o.port_file},   {"--audit", &o.audit},         {"--reader", &o.reader},
      {"--hsm-module", &o.hsm_module}, {"--hsm-token", &o.hsm_token}, {"--host", &o.host}};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto s = strings.find(a);
    if (s != strings.end() && i + 1 < argc)
      *s->second = argv[++i];
    else if (a == "--port" && i + 1 < argc)
      o.port = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (a == "--daemon-port" && i + 1 < argc)
      o.daemon_port = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (a == "--sim")
      o.sim = true;
    else if (action.empty())
      action = a;
    else
      return false;
  }
  if (o.hsm_module.empty() || o.hsm_token.empty() || o.port > 65535) return false;
  if (action == "serve") {
    if (o.audit.empty()) o.audit = o.ca_dir + "/portal-audit.jsonl";
    return !o.ca_dir.empty() && !o.site.empty() && !o.client.empty() && o.daemon_port > 0 &&
           o.daemon_port <= 65535;
  }
  return action == "set-unlock-key" && !o.reader.empty();
}

}  // namespace
}  // namespace certkey::portal

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string action;
  certkey::portal::Options o;
  if (!certkey::portal::parse(argc, argv, action, o)) {
    std::fputs(certkey::portal::kUsage, stderr);
    return 2;
  }
  try {
    return action == "serve" ? certkey::portal::serve(o) : certkey::portal::set_unlock_key(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "certkey-portal: %s\n", e.what());
    return 1;
  }
}
