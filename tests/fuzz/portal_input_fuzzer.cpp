// What a page sends the reference portal and the test CA (examples/portal, examples/ca): the
// renewal authorization (a compact JWS with x5c, docs/daemon.md), a PEM request, and a
// help-desk ticket. Anything is a Refusal or an unknown ticket at worst, never a crash.
// The input is "JWS\nTICKET\nPEM"; the CA is made once, in a temporary directory, with the
// same OpenSSL calls the openssl command line makes.
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <cstdio>
#include <memory>
#include <string>
#include <utility>

#include "certificate_authority.hpp"
#include "ticket_book.hpp"

namespace {

using namespace certkey::test_ca;

X509Ptr self_or_issued(const char* cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  X509Ptr c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), issuer ? 2 : 1);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 3600L * 24 * 365);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(c.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(c.get(),
                       issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(c.get()));
  X509_set_pubkey(c.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : c.get(), c.get(), nullptr, nullptr, 0);
  for (const auto& [name, value] : {std::pair{"basicConstraints", "critical,CA:TRUE"},
                                    std::pair{"keyUsage", "critical,keyCertSign,cRLSign"}}) {
    X509_EXTENSION* e = X509V3_EXT_nconf(nullptr, &ctx, name, value);
    X509_add_ext(c.get(), e, -1);
    X509_EXTENSION_free(e);
  }
  X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return c;
}

void write(const std::string& path, X509* certificate, EVP_PKEY* key) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (certificate) PEM_write_X509(f, certificate);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

CertificateAuthority& test_ca() {
  static CertificateAuthority* ca = [] {
    char pattern[] = "/tmp/certkey-portal-fuzz-XXXXXX";
    const std::string dir = ::mkdtemp(pattern);
    KeyPtr root_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    KeyPtr issuing_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    const X509Ptr root = self_or_issued("fuzz root", root_key.get(), nullptr, nullptr);
    const X509Ptr issuing =
        self_or_issued("fuzz issuing", issuing_key.get(), root.get(), root_key.get());
    write(dir + "/root.pem", root.get(), nullptr);
    write(dir + "/issuing.pem", issuing.get(), nullptr);
    write(dir + "/issuing.key", nullptr, issuing_key.get());
    return new CertificateAuthority(dir, 1);
  }();
  return *ca;
}

X509_REQ* fixed_request() {
  static X509_REQ* request = [] {
    KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    X509_REQ* r = X509_REQ_new();
    X509_REQ_set_pubkey(r, key.get());
    X509_REQ_sign(r, key.get(), EVP_sha256());
    return r;
  }();
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t first = input.find('\n'),
                    second = input.find('\n', first == std::string::npos ? size : first + 1);
  const std::string jws = input.substr(0, first);
  const std::string ticket =
      first == std::string::npos ? "" : input.substr(first + 1, second - first - 1);
  const std::string pem = second == std::string::npos ? "" : input.substr(second + 1);
  try {
    test_ca().check_authorization(jws, fixed_request(), "https://127.0.0.1:8443");
  } catch (const Refusal&) {
  }
  try {
    const RequestPtr request = request_from_pem(pem);
    if (request) test_ca().check_authorization(jws, request.get());
  } catch (const Refusal&) {
  }
  certkey::portal::TicketBook book(std::chrono::minutes(15));
  const std::string issued = book.issue(7, "fuzz", certkey::portal::Clock::now());
  if (book.check(ticket, 7, certkey::portal::Clock::now()) ==
      certkey::portal::TicketBook::Outcome::accepted) {
    book.spend(ticket);
  }
  book.check(issued, 7, certkey::portal::Clock::now());
  return 0;
}
