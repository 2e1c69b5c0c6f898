// A test PKI made at run time with the openssl command line, in a temporary directory: a
// root, an issuing CA under it (with an `openssl ca` database, so it can revoke and publish
// CRLs), an unrelated root, and an impostor with the issuing CA's name but another key. And
// `openssl ocsp` responders for the issuing CA, as separate processes on loopback.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "certs/openssl_support.hpp"

namespace certkey::test {

using daemon::X509Ptr;

// Runs `command` with /bin/sh in `dir`; its output goes to `dir`/commands.log. Throws
// std::runtime_error, with the end of the log, when it fails.
void shell(const std::string& dir, const std::string& command);
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);
X509Ptr load_certificate(const std::string& pem_path);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Validity {
  std::string start;  // openssl ca -startdate (YYYYMMDDHHMMSSZ); empty: now
  std::string end;    // openssl ca -enddate; empty: 30 days from now
};

class TestPki {
 public:
  explicit TestPki(std::string dir);

  const std::string& dir() const { return dir_; }
  std::string root_pem() const { return dir_ + "/root.pem"; }
  std::string issuing_pem() const { return dir_ + "/issuing/ca.pem"; }
  std::string issuing_key() const { return dir_ + "/issuing/ca.key"; }
  std::string other_root_pem() const { return dir_ + "/other.pem"; }
  std::string index() const { return dir_ + "/issuing/index.txt"; }

  // A leaf from the issuing CA with these extension lines (openssl x509v3_config(5)) added to
  // the basic ones; returns its PEM file (name.pem, key in name.key).
  std::string issue(const std::string& name, const std::vector<std::string>& extensions,
                    const Validity& validity = {});
  // A leaf from the unrelated root.
  std::string issue_from_other_root(const std::string& name);
  void revoke(const std::string& pem, const std::string& reason);
  // The issuing CA's current CRL, or the impostor's, as DER.
  std::string crl_der();
  std::string impostor_crl_der();

 private:
  std::string dir_;
};

// One `openssl ocsp` responder. It prints "ACCEPT [::]:<port> PID=<pid>" on stdout once it
// listens, so the test reads its port and knows it is ready without polling the socket (a
// connection that sends nothing makes OpenSSL 3.0's responder spin).
class OcspResponder {
 public:
  // `args`: what follows `openssl ocsp -port N`; its log goes to `log`.
  OcspResponder(std::vector<std::string> args, std::string log);
  ~OcspResponder();
  OcspResponder(const OcspResponder&) = delete;
  OcspResponder& operator=(const OcspResponder&) = delete;

  // Port 0: any free port. Throws std::runtime_error when it does not come up.
  void start(unsigned short port = 0);
  void stop();
  bool running() const { return pid_ > 0; }
  unsigned short port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  std::vector<std::string> args_;
  std::string log_;
  pid_t pid_ = -1;
  int output_ = -1;  // the responder's stdout, kept open so that it never gets SIGPIPE
  unsigned short port_ = 0;
};

}  // namespace certkey::test
