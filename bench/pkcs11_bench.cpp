// pkcs11-bench: the same operations through several PKCS#11 modules, side by side
// (DESIGN.md section 10): APDUs per operation (counted by certkey-sim), PC/SC calls per
// operation (counted by libcertkey-pcsc-count.so, when preloaded) and median wall time.
//
//   pkcs11-bench --iterations N [--sim-control SOCKET] NAME=MODULE[:so-pin] ...
//
// Each module must see one token with an EC P-256 key and an RSA-2048 key (PIN "123456",
// no per-use PIN), each with a certificate. Prints a JSON document, then a table.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pcsc_count.h"
#include "sim_stats.hpp"

namespace {

std::string g_sim_control;

std::optional<long> apdus() { return simulator_apdus(g_sim_control, "token1"); }

// The PC/SC-call counter, when bench/run preloaded libcertkey-pcsc-count.so (it does).
struct PcscCounter {
  decltype(&certkey_pcsc_functions) functions = nullptr;
  decltype(&certkey_pcsc_function_name) name = nullptr;
  decltype(&certkey_pcsc_calls) calls = nullptr;
  PcscCounter() {
    functions =
        reinterpret_cast<decltype(functions)>(dlsym(RTLD_DEFAULT, "certkey_pcsc_functions"));
    name = reinterpret_cast<decltype(name)>(dlsym(RTLD_DEFAULT, "certkey_pcsc_function_name"));
    calls = reinterpret_cast<decltype(calls)>(dlsym(RTLD_DEFAULT, "certkey_pcsc_calls"));
  }
  bool present() const { return functions && name && calls; }
  std::vector<unsigned long> now() const {
    std::vector<unsigned long> counts;
    for (int i = 0; present() && i < functions(); ++i) counts.push_back(calls(i));
    return counts;
  }
};
const PcscCounter g_pcsc;

struct Result {
  std::string module, operation;
  double median_ms = 0;
  std::optional<double> apdus_per_op;
  std::optional<double> pcsc_calls_per_op;
  std::vector<std::pair<std::string, double>> pcsc_by_function;  // the functions called, per op
  std::string error;
};

struct Module {
  std::string name, so_pin;
  CK_FUNCTION_LIST_PTR f = nullptr;
  CK_SLOT_ID slot = 0;
  bool counts_apdus = false;

  CK_RV init() {
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CK_RV rv = f->C_Initialize(&args);
    if (rv != CKR_OK) return rv;
    CK_ULONG n = 0;
    rv = f->C_GetSlotList(CK_TRUE, nullptr, &n);
    if (rv != CKR_OK) return rv;
    if (n == 0) return CKR_TOKEN_NOT_PRESENT;
    std::vector<CK_SLOT_ID> slots(n);
    rv = f->C_GetSlotList(CK_TRUE, slots.data(), &n);
    slot = slots[0];
    return rv;
  }
  CK_SESSION_HANDLE open() {
    CK_SESSION_HANDLE s = 0;
    f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s);
    return s;
  }
  CK_RV login(CK_SESSION_HANDLE s, CK_USER_TYPE who = CKU_USER) {
    std::string pin = who == CKU_SO ? so_pin : "123456";
    return f->C_Login(s, who, reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()), pin.size());
  }
  // Every certificate and its value, as a browser listing client certificates does.
  CK_RV list_certificates(CK_SESSION_HANDLE s) {
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}};
    CK_OBJECT_HANDLE found[32];
    CK_ULONG n = 0;
    CK_RV rv = f->C_FindObjectsInit(s, t, 1);
    if (rv == CKR_OK) rv = f->C_FindObjects(s, found, 32, &n);
    f->C_FindObjectsFinal(s);
    for (CK_ULONG i = 0; rv == CKR_OK && i < n; ++i) {
      std::vector<CK_BYTE> value(8192);
      CK_ATTRIBUTE a = {CKA_VALUE, value.data(), value.size()};
      rv = f->C_GetAttributeValue(s, found[i], &a, 1);
    }
    return rv != CKR_OK ? rv : n == 0 ? CKR_GENERAL_ERROR : CKR_OK;
  }
  CK_OBJECT_HANDLE key(CK_SESSION_HANDLE s, CK_KEY_TYPE type) {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &type, sizeof type}};
    CK_OBJECT_HANDLE h = 0;
    CK_ULONG n = 0;
    f->C_FindObjectsInit(s, t, 2);
    f->C_FindObjects(s, &h, 1, &n);
    f->C_FindObjectsFinal(s);
    return n ? h : CK_INVALID_HANDLE;
  }
  CK_RV sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k, CK_MECHANISM_TYPE m) {
    CK_MECHANISM mech{m, nullptr, 0};
    CK_BYTE data[32] = {1, 2, 3}, sig[512];
    CK_ULONG len = sizeof sig;
    CK_RV rv = f->C_SignInit(s, &mech, k);
    return rv == CKR_OK ? f->C_Sign(s, data, sizeof data, sig, &len) : rv;
  }
};

void forget_object_cache() {
  if (const char* cache = std::getenv("XDG_CACHE_HOME")) {
    std::error_code ignored;
    std::filesystem::remove_all(std::string(cache) + "/certkey", ignored);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Runs `op` `iterations` times, timing each run (not `before`, which runs ahead of each) and
// counting APDUs overall.
Result measure(
    Module& m, const std::string& operation, int iterations, const std::function<CK_RV()>& op,
    const std::function<void()>& before_each = [] {}) {
  Result r;
  r.module = m.name;
  r.operation = operation;
  std::vector<double> times;
  std::optional<long> before = m.counts_apdus ? apdus() : std::nullopt;
  const std::vector<unsigned long> pcsc_before = g_pcsc.now();
  for (int i = 0; i < iterations; ++i) {
    before_each();
    auto t0 = std::chrono::steady_clock::now();
    CK_RV rv = op();
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (rv != CKR_OK) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "CKR 0x%lx", rv);
      r.error = buf;
      return r;
    }
  }
  const std::vector<unsigned long> pcsc_after = g_pcsc.now();
  std::optional<long> after = m.counts_apdus ? apdus() : std::nullopt;
  if (before && after) r.apdus_per_op = static_cast<double>(*after - *before) / iterations;
  if (m.counts_apdus && g_pcsc.present()) {
    unsigned long total = 0;
    for (std::size_t i = 0; i < pcsc_after.size(); ++i) {
      const unsigned long calls = pcsc_after[i] - pcsc_before[i];
      total += calls;
      if (calls) {
        r.pcsc_by_function.emplace_back(g_pcsc.name(static_cast<int>(i)),
                                        static_cast<double>(calls) / iterations);
      }
    }
    r.pcsc_calls_per_op = static_cast<double>(total) / iterations;
  }
  r.median_ms = median(times);
  return r;
}

std::vector<Result> run(Module& m, int iterations) {
  std::vector<Result> results;
  // Cold: a fresh C_Initialize each time, as a process starting up. First as the first process
  // to meet the token (certkey's object cache between processes emptied, docs/pkcs11.md 7.1),
  // then as every later one.
  const auto cold_listing = [&] {
    CK_RV rv = m.init();
    CK_SESSION_HANDLE s = rv == CKR_OK ? m.open() : 0;
    if (rv == CKR_OK) rv = m.list_certificates(s);
    m.f->C_Finalize(nullptr);
    return rv;
  };
  results.push_back(measure(m, "initialize + list certificates (cold, first process)", iterations,
                            cold_listing, forget_object_cache));
  results.push_back(measure(m, "initialize + list certificates (cold)", iterations, cold_listing));
  if (m.init() != CKR_OK) return results;
  CK_SESSION_HANDLE s = m.open();
  m.list_certificates(s);
  results.push_back(
      measure(m, "list certificates (warm)", iterations, [&] { return m.list_certificates(s); }));
  // As applications do: log in, find the private key, sign, log out.
  results.push_back(measure(m, "login + find key + ECDSA P-256 sign", iterations, [&] {
    CK_RV rv = m.login(s);
    if (rv == CKR_OK) rv = m.sign(s, m.key(s, CKK_EC), CKM_ECDSA);
    m.f->C_Logout(s);
    return rv;
  }));
  results.push_back(measure(m, "login + find key + RSA-2048 sign", iterations, [&] {
    CK_RV rv = m.login(s);
    if (rv == CKR_OK) rv = m.sign(s, m.key(s, CKK_RSA), CKM_RSA_PKCS);  // every module offers it
    m.f->C_Logout(s);
    return rv;
  }));
  // Key generation into a retired slot (ID 05) where the module allows it; PIV modules
  // need the management key, which ykcs11 takes as the SO PIN.
  results.push_back(measure(m, "generate EC P-256 key pair", iterations, [&] {
    CK_RV rv = m.login(s, m.so_pin.empty() ? CKU_USER : CKU_SO);
    CK_MECHANISM mech{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_BYTE p256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07}, id[] = {0x05};
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pub[] = {
        {CKA_EC_PARAMS, p256, sizeof p256}, {CKA_ID, id, 1}, {CKA_TOKEN, &yes, 1}};
    CK_ATTRIBUTE priv[] = {{CKA_ID, id, 1}, {CKA_TOKEN, &yes, 1}, {CKA_SIGN, &yes, 1}};
    CK_OBJECT_HANDLE pk = 0, sk = 0;
    if (rv == CKR_OK) rv = m.f->C_GenerateKeyPair(s, &mech, pub, 3, priv, 3, &pk, &sk);
    m.f->C_Logout(s);
    return rv;
  }));
  m.f->C_Finalize(nullptr);
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 5;
  std::vector<Module> modules;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc) {
      iterations = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--sim-control" && i + 1 < argc) {
      g_sim_control = argv[++i];
    } else if (auto eq = a.find('='); eq != std::string::npos) {
      Module m;
      m.name = a.substr(0, eq);
      std::string path = a.substr(eq + 1);
      if (auto colon = path.find(':'); colon != std::string::npos) {
        m.so_pin = path.substr(colon + 1);
        path = path.substr(0, colon);
      }
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      auto get = handle ? reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(
                              dlsym(handle, "C_GetFunctionList"))
                        : nullptr;
      if (!get || get(&m.f) != CKR_OK) {
        std::fprintf(stderr, "pkcs11-bench: cannot load %s\n", path.c_str());
        return 2;
      }
      m.counts_apdus = path.find("softhsm") == std::string::npos;
      modules.push_back(m);
    } else {
      std::fprintf(
          stderr,
          "usage: pkcs11-bench --iterations N [--sim-control SOCKET] NAME=MODULE[:so-pin]...\n");
      return 2;
    }
  }
  std::vector<Result> all;
  for (Module& m : modules) {
    for (Result& r : run(m, iterations)) all.push_back(r);
  }
  std::printf("{\"iterations\": %d, \"results\": [\n", iterations);
  auto number_or_null = [](const std::optional<double>& v) {
    char text[32] = "null";
    if (v) std::snprintf(text, sizeof text, "%.1f", *v);
    return std::string(text);
  };
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Result& r = all[i];
    std::string functions = "{";
    for (const auto& [name, calls] : r.pcsc_by_function) {
      char entry[64];
      std::snprintf(entry, sizeof entry, "%s\"%s\": %g", functions.size() > 1 ? ", " : "",
                    name.c_str(), calls);
      functions += entry;
    }
    functions += "}";
    std::printf(
        "  {\"module\": \"%s\", \"operation\": \"%s\", \"median_ms\": %.3f, \"apdus_per_op\": %s, "
        "\"pcsc_calls_per_op\": %s, \"pcsc_calls_by_function\": %s, \"error\": %s}%s\n",
        r.module.c_str(), r.operation.c_str(), r.median_ms, number_or_null(r.apdus_per_op).c_str(),
        number_or_null(r.pcsc_calls_per_op).c_str(), functions.c_str(),
        r.error.empty() ? "null" : ("\"" + r.error + "\"").c_str(), i + 1 < all.size() ? "," : "");
  }
  std::printf(
      "]}\n\n| operation | module | APDUs | PC/SC calls | median ms |\n|---|---|---:|---:|---:|\n");
  for (const Result& r : all) {
    const std::string apdu = r.apdus_per_op ? number_or_null(r.apdus_per_op) : "n/a";
    const std::string pcsc = r.pcsc_calls_per_op ? number_or_null(r.pcsc_calls_per_op) : "n/a";
    if (r.error.empty()) {
      std::printf("| %s | %s | %s | %s | %.2f |\n", r.operation.c_str(), r.module.c_str(),
                  apdu.c_str(), pcsc.c_str(), r.median_ms);
    } else {
      std::printf("| %s | %s | - | - | failed: %s |\n", r.operation.c_str(), r.module.c_str(),
                  r.error.c_str());
    }
  }
  return 0;
}
