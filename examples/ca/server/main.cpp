// certkey-test-ca: a small CA server for tests and demonstrations (docs/test-ca.md), on
// loopback only, over the CA that examples/ca/make-ca.sh (or the tests) made with the
// openssl command line:
//   https  POST /.well-known/est/simplereenroll  EST re-enrolment (RFC 7030 section 4.2.2);
//                                                 the client authenticates with a certificate
//                                                 this CA issued, and the request's subject
//                                                 must be that certificate's
//          GET  /.well-known/est/cacerts         the CA certificates (section 4.1)
//          POST /renewal                          {"csr", "authorization"}: the renewal JWS
//                                                 certkeyd signs, checked, then issued
//   http   POST /ocsp                             OCSP (RFC 6960 Appendix A.1) for what it issued
// The HTTPS certificate is minted at start-up by the CA itself, for 127.0.0.1 and localhost.
//
//   certkey-test-ca serve --ca-dir DIR --port-file FILE [--days N]
//   certkey-test-ca revoke --ca-dir DIR CERTIFICATE.pem
#include <boost/asio/signal_set.hpp>
#include <openssl/pem.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "certificate_authority.hpp"
#include "loopback_server.hpp"

namespace certkey::test_ca {
namespace {

using namespace certkey::examples;
constexpr char kName[] = "certkey-test-ca";

class Server {
 public:
  Server(CertificateAuthority& ca, std::string ocsp_url)
      : ca_(ca), ocsp_url_(std::move(ocsp_url)) {}

  // `peer`: the client's certificate over TLS, if it sent one.
  Response handle(const Request& request, X509* peer) {
    const std::string target(request.target());
    try {
      if (request.method() == http::verb::post && target == "/.well-known/est/simplereenroll") {
        return simplereenroll(request, peer);
      }
      if (request.method() == http::verb::get && target == "/.well-known/est/cacerts") {
        return pkcs7(request, ca_.certs_only({ca_.issuing(), ca_.root()}));
      }
      if (request.method() == http::verb::post && target == "/renewal") return renewal(request);
      if (request.method() == http::verb::post && target == "/ocsp") {
        const Bytes der(request.body().begin(), request.body().end());
        const Bytes response = ca_.ocsp_response(der);
        return answer(request, http::status::ok, "application/ocsp-response",
                      std::string(response.begin(), response.end()));
      }
      return text(request, http::status::not_found, "no such resource");
    } catch (const Refusal& e) {
      return text(request, http::status::bad_request, e.what());
    }
  }

 private:
  Response pkcs7(const Request& request, const Bytes& der) {
    Response r = answer(request, http::status::ok, "application/pkcs7-mime; smime-type=certs-only",
                        base64_encode(der));
    r.set("Content-Transfer-Encoding", "base64");
    return r;
  }

  // RFC 7030 section 3.3.2: the client certificate authenticates; section 4.2.2: the request
  // renews the holder of that certificate, so its subject must be the same.
  Response simplereenroll(const Request& request, X509* peer) {
    if (!peer) return text(request, http::status::unauthorized, "a client certificate is needed");
    if (!ca_.issued_by_us(peer)) {
      return text(request, http::status::forbidden,
                  "the client certificate was not issued by this CA");
    }
    const RequestPtr csr = request_from_der(base64_decode(request.body()));
    if (!csr) throw Refusal("the body is not a base64 PKCS#10 request");
    if (X509_NAME_cmp(X509_get_subject_name(peer), X509_REQ_get_subject_name(csr.get())) != 0) {
      return text(request, http::status::bad_request,
                  "the request's subject is not the client certificate's");
    }
    const X509Ptr issued = ca_.issue(csr.get(), ocsp_url_);
    return pkcs7(request, ca_.certs_only({issued.get(), ca_.issuing()}));
  }

  Response renewal(const Request& request) {
    const nlohmann::json body = nlohmann::json::parse(request.body(), nullptr, false);
    if (!body.is_object() || !body.contains("csr") || !body["csr"].is_string() ||
        !body.contains("authorization") || !body["authorization"].is_string()) {
      throw Refusal("the body is {\"csr\": PEM, \"authorization\": JWS}");
    }
    const RequestPtr csr = ca_.authorized_request(body["csr"].get<std::string>(),
                                                  body["authorization"].get<std::string>());
    const X509Ptr issued = ca_.issue(csr.get(), ocsp_url_);
    return answer(request, http::status::ok, "application/json",
                  ca_.issued_answer(issued.get()).dump());
  }

  CertificateAuthority& ca_;
  std::string ocsp_url_;
};

// The TLS side: the minted server certificate; a client certificate is asked for and
// accepted whatever it is, so that the handler can refuse it with a reason.
void configure_tls(asio::ssl::context& tls, CertificateAuthority& ca) {
  ca.serve_tls_as_minted(tls.native_handle());
  SSL_CTX_set_verify(tls.native_handle(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
}

int serve(const std::string& dir, const std::string& port_file, int days) {
  CertificateAuthority ca(dir, days);
  asio::io_context io(1);
  tcp::acceptor plain(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::acceptor secure(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const unsigned http_port = plain.local_endpoint().port(),
                 https_port = secure.local_endpoint().port();
  Server server(ca, "http://127.0.0.1:" + std::to_string(http_port) + "/ocsp");
  const Handler handler = [&server](const Request& request, X509* peer) {
    return server.handle(request, peer);
  };
  asio::ssl::context tls(asio::ssl::context::tls_server);
  configure_tls(tls, ca);
  accept<beast::tcp_stream>(plain, kName, handler);
  accept<beast::ssl_stream<beast::tcp_stream>>(secure, kName, handler, tls);
  asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](beast::error_code, int) { io.stop(); });
  std::fprintf(stderr,
               "certkey-test-ca: https://127.0.0.1:%u (EST, /renewal), http://127.0.0.1:%u/ocsp\n",
               https_port, http_port);
  if (!port_file.empty())
    write_port_file(port_file, nlohmann::json{{"https", https_port}, {"http", http_port}}.dump());
  io.run();
  return 0;
}

int revoke(const std::string& dir, const std::string& pem_path) {
  std::FILE* in = std::fopen(pem_path.c_str(), "r");
  X509Ptr certificate(in ? PEM_read_X509(in, nullptr, nullptr, nullptr) : nullptr);
  if (in) std::fclose(in);
  if (!certificate) {
    std::fprintf(stderr, "certkey-test-ca: cannot read %s\n", pem_path.c_str());
    return 1;
  }
  CertificateAuthority ca(dir, 1);
  std::printf("revoked %s\n", ca.revoke(certificate.get()).c_str());
  return 0;
}

const char* const kUsage =
    "usage: certkey-test-ca serve --ca-dir DIR [--port-file FILE] [--days N]\n"
    "       certkey-test-ca revoke --ca-dir DIR CERTIFICATE.pem\n"
    "DIR holds root.pem, issuing.pem and issuing.key (examples/ca/make-ca.sh makes them).\n";

}  // namespace
}  // namespace certkey::test_ca

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::string action, dir, port_file, operand;
  int days = 365;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--ca-dir" && i + 1 < argc)
      dir = argv[++i];
    else if (a == "--port-file" && i + 1 < argc)
      port_file = argv[++i];
    else if (a == "--days" && i + 1 < argc)
      days = std::atoi(argv[++i]);
    else if (action.empty())
      action = a;
    else
      operand = a;
  }
  try {
    if (action == "serve" && !dir.empty() && days > 0)
      return certkey::test_ca::serve(dir, port_file, days);
    if (action == "revoke" && !dir.empty() && !operand.empty())
      return certkey::test_ca::revoke(dir, operand);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "certkey-test-ca: %s\n", e.what());
    return 1;
  }
  std::fputs(certkey::test_ca::kUsage, stderr);
  return 2;
}
