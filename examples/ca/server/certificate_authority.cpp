#include "certificate_authority.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cctype>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace certkey::test_ca {
namespace {

using Bio = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using Store = std::unique_ptr<X509_STORE, Free<X509_STORE, X509_STORE_free>>;
using StoreContext = std::unique_ptr<X509_STORE_CTX, Free<X509_STORE_CTX, X509_STORE_CTX_free>>;

constexpr std::time_t kClockSkew = 300;  // how far iat may be from now

// What one of OpenSSL's i2d_* functions writes, as bytes.
template <typename Encode>
Bytes encoded(Encode&& encode) {
  unsigned char* der = nullptr;
  const int length = encode(&der);
  Bytes out(der, der + std::max(length, 0));
  OPENSSL_free(der);
  return out;
}

X509Ptr read_certificate(const std::string& path) {
  const Bio in(BIO_new_file(path.c_str(), "r"));
  X509Ptr certificate(in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!certificate) throw std::runtime_error("cannot read the certificate " + path);
  return certificate;
}

KeyPtr read_key(const std::string& path) {
  const Bio in(BIO_new_file(path.c_str(), "r"));
  KeyPtr key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) throw std::runtime_error("cannot read the key " + path);
  return key;
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  BIGNUM* n = ASN1_INTEGER_to_BN(serial, nullptr);
  char* hex = n ? BN_bn2hex(n) : nullptr;
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(n);
  return out;
}

Bytes sha256(const Bytes& data) {
  Bytes digest(32);
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

std::string base64url(const Bytes& bytes) {
  std::string text = base64_encode(bytes);
  std::string out;
  for (const char c : text) {
    if (c == '+')
      out += '-';
    else if (c == '/')
      out += '_';
    else if (c != '=' && c != '\n')
      out += c;
  }
  return out;
}

Bytes base64url_decode(std::string text) {
  for (char& c : text) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (text.size() % 4) text += '=';
  return base64_decode(text);
}

Bytes der_of(X509_REQ* request) {
  return encoded([&](unsigned char** out) { return i2d_X509_REQ(request, out); });
}

// JOSE's r || s as the DER ECDSA-Sig-Value OpenSSL verifies.
Bytes ecdsa_der(const Bytes& raw) {
  if (raw.empty() || raw.size() % 2) throw Refusal("the authorization's signature is malformed");
  const int half = static_cast<int>(raw.size() / 2);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), half, nullptr),
                 BN_bin2bn(raw.data() + half, half, nullptr));
  Bytes out = encoded([&](unsigned char** der) { return i2d_ECDSA_SIG(sig, der); });
  ECDSA_SIG_free(sig);
  return out;
}

bool verifies(EVP_PKEY* key, const EVP_MD* md, const std::string& input, const Bytes& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, signature.data(), signature.size(),
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace

std::string pem_of(X509* certificate) {
  const Bio out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(out.get(), certificate);
  char* data = nullptr;
  const long length = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

RequestPtr request_from_der(const Bytes& der) {
  const unsigned char* p = der.data();
  return RequestPtr(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
}

RequestPtr request_from_pem(const std::string& pem) {
  const Bio in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return RequestPtr(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
}

Bytes base64_decode(const std::string& text) {
  std::string compact;
  for (const char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
  }
  if (compact.empty() || compact.size() % 4) throw Refusal("not base64");
  Bytes out(compact.size() / 4 * 3);
  const int length =
      EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(compact.data()),
                      static_cast<int>(compact.size()));
  if (length < 0) throw Refusal("not base64");
  std::size_t padding = 0;
  while (padding < 2 && compact[compact.size() - 1 - padding] == '=') ++padding;
  out.resize(static_cast<std::size_t>(length) - padding);
  return out;
}

std::string base64_encode(const Bytes& bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 48) {
    const std::size_t n = std::min<std::size_t>(48, bytes.size() - i);
    char line[65];
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(line), bytes.data() + i, static_cast<int>(n));
    out += line;
    out += '\n';
  }
  return out;
}

CertificateAuthority::CertificateAuthority(std::string dir, int validity_days)
    : dir_(std::move(dir)),
      validity_days_(validity_days),
      root_(read_certificate(dir_ + "/root.pem")),
      issuing_(read_certificate(dir_ + "/issuing.pem")),
      issuing_key_(read_key(dir_ + "/issuing.key")) {
  std::filesystem::create_directories(dir_ + "/issued");
  std::filesystem::create_directories(dir_ + "/revoked");
}

X509Ptr CertificateAuthority::sign_certificate(X509_NAME* subject, EVP_PKEY* key,
                                               const std::vector<std::string>& extensions) {
  const std::lock_guard lock(mutex_);
  X509Ptr c(X509_new());
  X509_set_version(c.get(), 2);
  unsigned char random[16];
  RAND_bytes(random, sizeof random);
  random[0] &= 0x7F;  // a positive serial (RFC 5280 section 4.1.2.2)
  BIGNUM* serial = BN_bin2bn(random, sizeof random, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(c.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), static_cast<long>(validity_days_) * 86400);
  X509_set_subject_name(c.get(), subject);
  X509_set_issuer_name(c.get(), X509_get_subject_name(issuing_.get()));
  X509_set_pubkey(c.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuing_.get(), c.get(), nullptr, nullptr, 0);
  for (const std::string& line : extensions) {
    const std::size_t eq = line.find('=');
    X509_EXTENSION* e =
        X509V3_EXT_nconf(nullptr, &ctx, line.substr(0, eq).c_str(), line.substr(eq + 1).c_str());
    if (!e) throw std::runtime_error("bad extension " + line);
    X509_add_ext(c.get(), e, -1);
    X509_EXTENSION_free(e);
  }
  if (X509_sign(c.get(), issuing_key_.get(), EVP_sha256()) <= 0)
    throw std::runtime_error("cannot sign");
  std::ofstream(dir_ + "/issued/" + serial_hex(X509_get0_serialNumber(c.get())) + ".pem")
      << pem_of(c.get());
  return c;
}

X509Ptr CertificateAuthority::issue(X509_REQ* request, const std::string& ocsp_url) {
  EVP_PKEY* key = X509_REQ_get0_pubkey(request);
  if (!key || X509_REQ_verify(request, key) != 1)
    throw Refusal("the request's signature does not verify");
  return sign_certificate(
      X509_REQ_get_subject_name(request), key,
      {"basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
       "extendedKeyUsage=clientAuth,emailProtection", "subjectKeyIdentifier=hash",
       "authorityKeyIdentifier=keyid", "authorityInfoAccess=OCSP;URI:" + ocsp_url});
}

std::pair<X509Ptr, KeyPtr> CertificateAuthority::mint_server_certificate(const std::string& host) {
  KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  using Name = std::unique_ptr<X509_NAME, Free<X509_NAME, X509_NAME_free>>;
  const Name name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("certkey test CA server"), -1,
                             -1, 0);
  X509Ptr certificate = sign_certificate(
      name.get(), key.get(),
      {"basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
       "extendedKeyUsage=serverAuth",
       "subjectAltName=IP:127.0.0.1,DNS:localhost" + (host.empty() ? "" : ",DNS:" + host)});
  return {std::move(certificate), std::move(key)};
}

std::string CertificateAuthority::revoke(X509* certificate) {
  const std::string hex = serial_hex(X509_get0_serialNumber(certificate));
  std::ofstream(dir_ + "/revoked/" + hex) << "revoked\n";
  return hex;
}

bool CertificateAuthority::issued_by_us(X509* certificate) const {
  const Store store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), root_.get());
  X509_STORE_add_cert(store.get(), issuing_.get());
  const StoreContext ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), certificate, nullptr);
  return X509_verify_cert(ctx.get()) == 1 &&
         X509_check_issued(issuing_.get(), certificate) == X509_V_OK;
}

Bytes CertificateAuthority::certs_only(const std::vector<X509*>& certificates) const {
  PKCS7* p7 = PKCS7_new();
  PKCS7_set_type(p7, NID_pkcs7_signed);
  PKCS7_content_new(p7, NID_pkcs7_data);
  for (X509* c : certificates) PKCS7_add_certificate(p7, c);
  Bytes out = encoded([&](unsigned char** der) { return i2d_PKCS7(p7, der); });
  PKCS7_free(p7);
  return out;
}

std::string CertificateAuthority::serial_status(const ASN1_INTEGER* serial) const {
  const std::string hex = serial_hex(serial);
  if (std::filesystem::exists(dir_ + "/revoked/" + hex)) return "revoked";
  if (std::filesystem::exists(dir_ + "/issued/" + hex + ".pem")) return "good";
  return "unknown";
}

Bytes CertificateAuthority::ocsp_response(const Bytes& request_der) {
  const unsigned char* p = request_der.data();
  OCSP_REQUEST* request = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(request_der.size()));
  OCSP_RESPONSE* response = nullptr;
  if (!request || OCSP_request_onereq_count(request) < 1) {
    response = OCSP_response_create(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, nullptr);
  } else {
    OCSP_BASICRESP* basic = OCSP_BASICRESP_new();
    ASN1_TIME* now = X509_gmtime_adj(nullptr, 0);
    ASN1_TIME* next = X509_gmtime_adj(nullptr, 3600);
    for (int i = 0; i < OCSP_request_onereq_count(request); ++i) {
      OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(request, i));
      ASN1_INTEGER* serial = nullptr;
      OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, id);
      const std::string status = serial ? serial_status(serial) : "unknown";
      const int code = status == "good"      ? V_OCSP_CERTSTATUS_GOOD
                       : status == "revoked" ? V_OCSP_CERTSTATUS_REVOKED
                                             : V_OCSP_CERTSTATUS_UNKNOWN;
      OCSP_basic_add1_status(basic, id, code, OCSP_REVOKED_STATUS_UNSPECIFIED,
                             code == V_OCSP_CERTSTATUS_REVOKED ? now : nullptr, now, next);
    }
    OCSP_copy_nonce(basic, request);
    OCSP_basic_sign(basic, issuing_.get(), issuing_key_.get(), EVP_sha256(), nullptr, 0);
    response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
    OCSP_BASICRESP_free(basic);
    ASN1_TIME_free(now);
    ASN1_TIME_free(next);
  }
  OCSP_REQUEST_free(request);
  Bytes out = encoded([&](unsigned char** der) { return i2d_OCSP_RESPONSE(response, der); });
  OCSP_RESPONSE_free(response);
  return out;
}

RequestPtr CertificateAuthority::authorized_request(const std::string& csr_pem,
                                                    const std::string& jws,
                                                    const std::string& origin) const {
  RequestPtr csr = request_from_pem(csr_pem);
  if (!csr) throw Refusal("\"csr\" is not a PEM request");
  check_authorization(jws, csr.get(), origin);
  return csr;
}

nlohmann::json CertificateAuthority::issued_answer(X509* certificate) const {
  return {{"certificate", pem_of(certificate)}, {"chain", pem_of(issuing_.get())}};
}

void CertificateAuthority::serve_tls_as_minted(SSL_CTX* ctx, const std::string& host) {
  auto [certificate, key] = mint_server_certificate(host);
  SSL_CTX_use_certificate(ctx, certificate.get());
  SSL_CTX_use_PrivateKey(ctx, key.get());
  SSL_CTX_add1_chain_cert(ctx, issuing_.get());
}

X509Ptr CertificateAuthority::check_authorization(const std::string& jws, X509_REQ* request,
                                                  const std::string& origin) const {
  try {
    return check_jws(jws, request, origin);
  } catch (const nlohmann::json::exception&) {  // a member of the wrong type
    throw Refusal("the authorization's header or payload is not as documented");
  }
}

X509Ptr CertificateAuthority::check_jws(const std::string& jws, X509_REQ* request,
                                        const std::string& origin) const {
  const std::size_t first = jws.find('.'), second = jws.find('.', first + 1);
  if (first == std::string::npos || second == std::string::npos ||
      jws.find('.', second + 1) != std::string::npos) {
    throw Refusal("the authorization is not a compact JWS");
  }
  const Bytes header_bytes = base64url_decode(jws.substr(0, first));
  const Bytes payload_bytes = base64url_decode(jws.substr(first + 1, second - first - 1));
  const nlohmann::json header =
      nlohmann::json::parse(header_bytes.begin(), header_bytes.end(), nullptr, false);
  const nlohmann::json payload =
      nlohmann::json::parse(payload_bytes.begin(), payload_bytes.end(), nullptr, false);
  if (!header.is_object() || !payload.is_object() || !header.contains("x5c") ||
      !header["x5c"].is_array() || header["x5c"].empty() || !header["x5c"][0].is_string()) {
    throw Refusal("the authorization has no x5c");
  }
  const Bytes der = base64_decode(header["x5c"][0].get<std::string>());
  const unsigned char* p = der.data();
  X509Ptr renewed(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!renewed || !issued_by_us(renewed.get()))
    throw Refusal("x5c is not a certificate this CA issued");
  // A lost token's revoked certificate authorises nothing; nor does a server certificate.
  if (serial_status(X509_get0_serialNumber(renewed.get())) == "revoked")
    throw Refusal("x5c is revoked");
  if (X509_check_purpose(renewed.get(), X509_PURPOSE_SSL_CLIENT, 0) != 1) {
    throw Refusal("x5c is not a client certificate");
  }
  const std::string alg = header.value("alg", "");
  Bytes signature = base64url_decode(jws.substr(second + 1));
  const EVP_MD* md = alg == "ES384" ? EVP_sha384() : EVP_sha256();
  if (alg == "ES256" || alg == "ES384")
    signature = ecdsa_der(signature);
  else if (alg != "RS256")
    throw Refusal("the authorization's alg is not ES256, ES384 or RS256");
  if (!verifies(X509_get0_pubkey(renewed.get()), md, jws.substr(0, second), signature)) {
    throw Refusal("the authorization's signature does not verify with x5c's key");
  }
  if (payload.value("csr_sha256", "") != base64url(sha256(der_of(request)))) {
    throw Refusal("the authorization is for another request");
  }
  const std::int64_t iat = payload.value("iat", std::int64_t{0}), now = std::time(nullptr);
  if (iat < now - kClockSkew || iat > now + kClockSkew) {  // no subtraction that could overflow
    throw Refusal("the authorization is not recent");
  }
  if (X509_NAME_cmp(X509_get_subject_name(renewed.get()), X509_REQ_get_subject_name(request)) !=
      0) {
    throw Refusal("the request's subject is not the renewed certificate's");
  }
  if (!origin.empty() && payload.value("origin", "") != origin)
    throw Refusal("the renewal was begun by another site");
  return renewed;
}

}  // namespace certkey::test_ca
