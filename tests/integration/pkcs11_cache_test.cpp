// The object cache between processes (docs/pkcs11.md 7.1), through pcscd and the simulator:
// each process here is a fork that loads the module afresh, as a new application would. The
// harness gives the run an empty XDG_CACHE_HOME.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "../harness/module_client.hpp"
#include "../harness/self_signed.hpp"
#include "../harness/sim_control.hpp"

namespace {

using certkey::test::sim;
using certkey::test::sim_apdus;

using Bytes = certkey::test::ModuleClient::Bytes;

// Runs `work` in a new process with the module loaded afresh; returns what it returned.
std::string in_new_process(const std::function<std::string(certkey::test::ModuleClient&)>& work) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(fds[0]);
    std::string result;
    {
      certkey::test::ModuleClient module;
      result = module.ok ? work(module) : "C_Initialize failed";
    }
    (void)::write(fds[1], result.data(), result.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string result;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;)
    result.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? result : "the process died";
}

std::string fingerprint(const Bytes& der) {
  unsigned char digest[32];
  unsigned int length = 0;
  EVP_Digest(der.data(), der.size(), digest, &length, EVP_sha256(), nullptr);
  char hex[17];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return hex;
}

// A listing as an application makes it: one search for every object, and the value of the
// certificates among them.
std::string list(certkey::test::ModuleClient& m) {
  CK_SESSION_HANDLE s = 0;
  if (m.p11->C_OpenSession(m.slot(), CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK)
    return "no session";
  CK_OBJECT_HANDLE objects[32];
  CK_ULONG n = 0;
  m.p11->C_FindObjectsInit(s, nullptr, 0);
  m.p11->C_FindObjects(s, objects, 32, &n);
  m.p11->C_FindObjectsFinal(s);
  std::string result = std::to_string(n) + " objects";
  for (CK_ULONG i = 0; i < n; ++i) {
    const Bytes object_class = m.attribute(s, objects[i], CKA_CLASS);
    const CK_OBJECT_CLASS certificate = CKO_CERTIFICATE;
    if (object_class == Bytes(reinterpret_cast<const std::uint8_t*>(&certificate),
                              reinterpret_cast<const std::uint8_t*>(&certificate + 1))) {
      result += ", certificate " + fingerprint(m.attribute(s, objects[i], CKA_VALUE));
    }
  }
  m.p11->C_CloseSession(s);
  return result;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ObjectCache : public ::testing::Test {
 protected:
  void SetUp() override {
    // A key and a certificate in 9A, written by a process of its own.
    certificate_ = certkey::test::self_signed_certificate("cached holder");
    ASSERT_EQ(in_new_process([&](certkey::test::ModuleClient& m) {
                CK_SESSION_HANDLE s = 0;
                if (m.logged_in(s) != CKR_OK || m.generate(s, 1) != CKR_OK)
                  return std::string("no key");
                return std::string(
                    m.store_certificate(s, 1, certificate_) == CKR_OK ? "ok" : "no certificate");
              }),
              "ok");
    directory_ = std::string(std::getenv("XDG_CACHE_HOME")) + "/certkey";
  }
  // The one cache file there is.
  std::string cache_file() {
    std::string found;
    if (FILE* p = ::popen(("ls " + directory_ + "/*.objects 2>/dev/null").c_str(), "r")) {
      char buffer[512];
      if (std::fgets(buffer, sizeof buffer, p)) found = buffer;
      ::pclose(p);
    }
    if (!found.empty()) found.pop_back();
    return found;
  }
  // A listing in a new process, and the APDUs it cost.
  std::pair<std::string, std::uint64_t> listed() {
    const std::uint64_t before = sim_apdus();
    std::string result = in_new_process(list);
    return {result, sim_apdus() - before};
  }
  // The certificate and the public key: the private key is not shown before C_Login.
  std::string expected() { return "2 objects, certificate " + fingerprint(certificate_); }

  Bytes certificate_;
  std::string directory_;
};

TEST_F(ObjectCache, ASecondProcessListsAnUnchangedTokenWithOneApdu) {
  const auto [first, first_cost] = listed();
  EXPECT_EQ(first, expected());
  const std::string file = cache_file();
  ASSERT_FALSE(file.empty()) << "no cache file in " << directory_;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  const auto [second, second_cost] = listed();
  EXPECT_EQ(second, expected());
  EXPECT_EQ(second_cost, 1u) << "the connect's TOKEN INFO alone; the first process paid "
                             << first_cost;
  EXPECT_GT(first_cost, second_cost);
}

TEST_F(ObjectCache, AWriteByAnotherProcessIsSeen) {
  ASSERT_EQ(listed().first, expected());
  const Bytes renewed =
      certkey::test::self_signed_certificate("renewed holder, a longer name than before");
  ASSERT_EQ(
      in_new_process([&](certkey::test::ModuleClient& m) {
        CK_SESSION_HANDLE s = 0;
        if (m.logged_in(s) != CKR_OK) return std::string("no login");
        return std::string(m.store_certificate(s, 1, renewed) == CKR_OK ? "ok" : "no certificate");
      }),
      "ok");
  const auto [after, cost] = listed();
  EXPECT_EQ(after, "2 objects, certificate " + fingerprint(renewed));
  EXPECT_GT(cost, 1u) << "the change counter moved: the objects are read again";
}

// The connect's TOKEN INFO names the objects of before a write this process makes right after
// it; the cache file holds them too. The listing after the write must not take them.
TEST_F(ObjectCache, AWriteRightAfterTheConnectIsSeenByTheSameProcess) {
  ASSERT_EQ(listed().first, expected());
  const Bytes renewed = certkey::test::self_signed_certificate("renewed right after the connect");
  EXPECT_EQ(in_new_process([&](certkey::test::ModuleClient& m) {
              CK_SESSION_HANDLE s = 0;
              if (m.logged_in(s) != CKR_OK || m.store_certificate(s, 1, renewed) != CKR_OK)
                return std::string("no");
              m.p11->C_CloseSession(s);
              return list(m);
            }),
            "2 objects, certificate " + fingerprint(renewed));
}

TEST_F(ObjectCache, AFileWithTheWrongModeOrOwnerIsIgnoredAndRewritten) {
  ASSERT_EQ(listed().first, expected());
  const std::string file = cache_file();
  ASSERT_FALSE(file.empty());
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  auto [listing, cost] = listed();
  EXPECT_EQ(listing, expected());
  EXPECT_GT(cost, 1u) << "a file others can read is not used";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "and it is rewritten";
  ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0);
  std::tie(listing, cost) = listed();
  EXPECT_EQ(listing, expected());
  EXPECT_GT(cost, 1u) << "another user's file is not used";
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(ObjectCache, ForgedContentsAreIgnoredAndRewritten) {
  ASSERT_EQ(listed().first, expected());
  const std::string file = cache_file();
  ASSERT_FALSE(file.empty());
  const std::string genuine = read_file(file);
  const std::string serial_line = genuine.substr(genuine.find("serial "), 16);
  std::string another_serial = genuine, another_counter = genuine,
              truncated = genuine.substr(0, genuine.size() / 2);
  another_serial.replace(another_serial.find(serial_line), serial_line.size(), "serial 00000001");
  const std::size_t counter_at = another_counter.find("counter ") + 8;
  another_counter[counter_at + 7] = another_counter[counter_at + 7] == '0' ? '1' : '0';
  for (const std::string& forged :
       {another_serial, another_counter, truncated, std::string("garbage\n")}) {
    { std::ofstream(file, std::ios::trunc) << forged; }
    ::chmod(file.c_str(), 0600);
    const auto [listing, cost] = listed();
    EXPECT_EQ(listing, expected());
    EXPECT_GT(cost, 1u) << "forged: " << forged.substr(0, 60);
    EXPECT_EQ(read_file(file), genuine) << "rewritten with what the token holds";
  }
}

TEST_F(ObjectCache, WithoutAWritableDirectoryTheModuleWorksAsBefore) {
  ASSERT_EQ(::setenv("XDG_CACHE_HOME", "/dev/null/not-a-directory", 1), 0);
  const auto [first, first_cost] = listed();
  const auto [second, second_cost] = listed();
  EXPECT_EQ(first, expected());
  EXPECT_EQ(second, expected());
  EXPECT_EQ(second_cost, first_cost) << "every process reads the token again";
}

}  // namespace

namespace {

// A listing in this process's session: the objects, and the APDUs it cost.
std::pair<std::string, std::uint64_t> listed_in(certkey::test::ModuleClient& m) {
  const std::uint64_t before = sim_apdus();
  std::string result = list(m);
  return {result, sim_apdus() - before};
}

// With the objects listed, a key pair generated through the same module in retired slot 05.
::testing::AssertionResult listed_then_generated(certkey::test::ModuleClient& m) {
  if (!m.ok) return ::testing::AssertionFailure() << "C_Initialize failed";
  list(m);
  CK_SESSION_HANDLE s = 0;
  if (m.logged_in(s) != CKR_OK || m.generate(s, 0x05) != CKR_OK || m.p11->C_Logout(s) != CKR_OK)
    return ::testing::AssertionFailure() << "no key generated";
  return ::testing::AssertionSuccess();
}

}  // namespace

// After the module's own key generation, the next listing re-reads that slot alone: TOKEN
// INFO, LIST KEYS and the new key's GET METADATA, not the other slot's certificate and key
// (docs/pkcs11.md 7).
TEST_F(ObjectCache, AfterItsOwnWrite_TheModuleRereadsOnlyThatSlot) {
  certkey::test::ModuleClient m;
  ASSERT_TRUE(listed_then_generated(m));
  const auto [after, cost] = listed_in(m);
  EXPECT_EQ(after, "3 objects, certificate " + fingerprint(certificate_));
  EXPECT_EQ(cost, 3u) << "TOKEN INFO, LIST KEYS, GET METADATA of the new key";
}

// If another process also wrote, the counter moved by more than this module's own commits:
// everything is read again, and the other process's certificate shows.
TEST_F(ObjectCache, AfterItsOwnWriteAndAnothers_TheModuleRereadsEverything) {
  certkey::test::ModuleClient m;
  ASSERT_TRUE(listed_then_generated(m));
  const Bytes renewed = certkey::test::self_signed_certificate("renewed elsewhere");
  ASSERT_EQ(in_new_process([&](certkey::test::ModuleClient& other) {
              CK_SESSION_HANDLE o = 0;
              return other.logged_in(o) == CKR_OK &&
                             other.store_certificate(o, 1, renewed) == CKR_OK
                         ? std::string("ok")
                         : std::string("not written");
            }),
            "ok");
  const auto [after, cost] = listed_in(m);
  EXPECT_EQ(after, "3 objects, certificate " + fingerprint(renewed));
  EXPECT_GT(cost, 3u);
}
