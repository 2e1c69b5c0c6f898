// The module's C API linked in-process, with the calls tests repeat: a logged-in session,
// finding a key or certificate by CKA_ID, reading attributes, generating a P-256 key pair,
// storing a certificate. Used by tests that run against pcscd and the simulator
// (tests/faults, tests/integration/pkcs11_software_test.cpp); they link certkey_p11_objects.
#pragma once
#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include <certkey/pkcs11_vendor.h>
CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);
CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, void** interface,
                     CK_FLAGS flags);
}

namespace certkey::test {

class ModuleClient {
 public:
  using Bytes = std::vector<std::uint8_t>;
  static constexpr CK_SLOT_ID kNoSlot = ~CK_SLOT_ID{0};

  // C_Initialize; C_Finalize at the end. `ok` is false when either step failed.
  ModuleClient() {
    ok = C_GetFunctionList(&p11) == CKR_OK && p11->C_Initialize(nullptr) == CKR_OK;
    struct Interface {  // PKCS#11 3.0's CK_INTERFACE, which p11-kit's 2.40 header lacks
      CK_CHAR* name;
      void* functions;
      CK_FLAGS flags;
    };
    void* iface = nullptr;
    if (ok && C_GetInterface(reinterpret_cast<CK_UTF8CHAR_PTR>(
                                 const_cast<char*>(CERTKEY_VENDOR_INTERFACE_NAME)),
                             nullptr, &iface, 0) == CKR_OK) {
      vendor = static_cast<CK_CERTKEY_FUNCTION_LIST*>(static_cast<Interface*>(iface)->functions);
    }
  }
  ~ModuleClient() {
    if (p11) p11->C_Finalize(nullptr);
  }
  ModuleClient(const ModuleClient&) = delete;
  ModuleClient& operator=(const ModuleClient&) = delete;

  CK_SLOT_ID slot() {
    CK_SLOT_ID slots[4];
    CK_ULONG count = 4;
    if (p11->C_GetSlotList(CK_TRUE, slots, &count) != CKR_OK || count == 0) return kNoSlot;
    return slots[0];
  }
  // A read-write session logged in with the documented PIN, or the code that stopped it.
  CK_RV logged_in(CK_SESSION_HANDLE& session) {
    const CK_SLOT_ID id = slot();
    if (id == kNoSlot) return CKR_TOKEN_NOT_PRESENT;
    CK_RV rv =
        p11->C_OpenSession(id, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session);
    if (rv != CKR_OK) return rv;
    rv = p11->C_Login(session, CKU_USER,
                      reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>("123456")), 6);
    return rv == CKR_USER_ALREADY_LOGGED_IN ? CKR_OK : rv;
  }
  // The object, or CK_INVALID_HANDLE with C_FindObjectsInit's code in `rv`.
  CK_OBJECT_HANDLE find(CK_SESSION_HANDLE session, CK_OBJECT_CLASS object_class, CK_BYTE id,
                        CK_RV& rv) {
    CK_ATTRIBUTE match[] = {{CKA_CLASS, &object_class, sizeof object_class}, {CKA_ID, &id, 1}};
    CK_OBJECT_HANDLE found = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    rv = p11->C_FindObjectsInit(session, match, 2);
    if (rv != CKR_OK) return CK_INVALID_HANDLE;
    p11->C_FindObjects(session, &found, 1, &n);
    p11->C_FindObjectsFinal(session);
    return n == 1 ? found : CK_INVALID_HANDLE;
  }
  CK_OBJECT_HANDLE find(CK_SESSION_HANDLE session, CK_OBJECT_CLASS object_class, CK_BYTE id) {
    CK_RV ignored = CKR_OK;
    return find(session, object_class, id, ignored);
  }
  Bytes attribute(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    if (p11->C_GetAttributeValue(session, object, &a, 1) != CKR_OK) return {};
    Bytes value(a.ulValueLen);
    a.pValue = value.data();
    if (p11->C_GetAttributeValue(session, object, &a, 1) != CKR_OK) return {};
    return value;
  }
  // A key pair on the token with this CKA_ID: P-256, or RSA 2048.
  CK_RV generate(CK_SESSION_HANDLE session, CK_BYTE id, bool rsa = false) {
    static const CK_BYTE kP256[] = {0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = 2048;
    CK_ATTRIBUTE pub[] = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_ID, &id, 1},
        rsa ? CK_ATTRIBUTE{CKA_MODULUS_BITS, &bits, sizeof bits}
            : CK_ATTRIBUTE{CKA_EC_PARAMS, const_cast<CK_BYTE*>(kP256), sizeof kP256}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, sizeof yes}, {CKA_ID, &id, 1}};
    CK_MECHANISM mechanism{rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE a = 0, b = 0;
    return p11->C_GenerateKeyPair(session, &mechanism, pub, 3, priv, 2, &a, &b);
  }
  CK_RV store_certificate(CK_SESSION_HANDLE session, CK_BYTE id, const Bytes& der) {
    CK_OBJECT_CLASS object_class = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &object_class, sizeof object_class},
                        {CKA_CERTIFICATE_TYPE, &type, sizeof type},
                        {CKA_TOKEN, &yes, sizeof yes},
                        {CKA_ID, &id, 1},
                        {CKA_VALUE, const_cast<std::uint8_t*>(der.data()), der.size()}};
    CK_OBJECT_HANDLE object = 0;
    return p11->C_CreateObject(session, t, 5, &object);
  }

  bool ok = false;
  CK_FUNCTION_LIST* p11 = nullptr;
  CK_CERTKEY_FUNCTION_LIST* vendor = nullptr;
};

}  // namespace certkey::test
