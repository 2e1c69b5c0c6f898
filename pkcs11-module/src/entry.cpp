// The C ABI of libcertkey-pkcs11.so: every C_* function takes the module lock, forwards to
// Module, and turns anything thrown into a CK_RV. Nothing crosses this boundary, and nothing
// here ever ends the host process (browsers load this library).
#include <certkey/card/error.hpp>
#include <cstring>
#include <new>
#include <pthread.h>

#include "module.hpp"

namespace certkey::p11 {
namespace {

Module& module();
std::mutex& instance_lock() { return module().mutex(); }

Module& module() {
  static Module* instance = [] {
    auto* m = new Module();  // never destroyed: C_* may run during exit
    // fork() while another thread holds the lock would leave the child's copy locked forever.
    pthread_atfork([] { instance_lock().lock(); }, [] { instance_lock().unlock(); },
                   [] {
                     module().note_fork();  // under the lock the prepare handler took
                     instance_lock().unlock();
                   });
    return m;
  }();
  return *instance;
}

}  // namespace

void use_card_links(card::CardLinks& links) {
  std::lock_guard<std::mutex> lock(module().mutex());
  module().use_card_links(links);
}

namespace {

// Whether this thread is inside a C_* call (and so holds the module lock).
thread_local bool t_inside_module = false;

template <typename F>
CK_RV guarded(F&& f) noexcept {
  try {
    std::lock_guard<std::mutex> lock(module().mutex());
    t_inside_module = true;
    struct Leave {
      ~Leave() { t_inside_module = false; }
    } leave;
    return f(module());
  } catch (const Failure& failure) {
    return failure.rv;
  } catch (const card::Error& e) {
    return to_ckr(e);
  } catch (const std::bad_alloc&) {
    return CKR_HOST_MEMORY;
  } catch (...) {
    return CKR_GENERAL_ERROR;
  }
}

extern "C" CK_RV not_supported() { return CKR_FUNCTION_NOT_SUPPORTED; }

// A process that exits without C_Finalize (OpenSSL with libp11's engine does) would leave
// its PIN verified on the card and, on a SIM, a logical channel open; a SIM has only three.
// Finalizing when the library is unloaded or the process exits closes both.
__attribute__((destructor)) void finalize_at_exit() {
  if (t_inside_module) return;  // exit() called from inside a C_* call: the lock is ours
  try {
    std::unique_lock<std::mutex> lock(module().mutex(), std::try_to_lock);
    // Another thread inside the module at exit is left alone rather than waited for.
    if (!lock.owns_lock()) return;
    module().release_at_exit();
    card::release_pcsc_context();  // a library unloaded with dlclose leaves no pcscd client
  } catch (...) {
  }
}

}  // namespace
}  // namespace certkey::p11

using certkey::p11::guarded;
using certkey::p11::Module;

#define CERTKEY_EXPORT extern "C" __attribute__((visibility("default")))

CERTKEY_EXPORT CK_RV C_Initialize(CK_VOID_PTR args) {
  return guarded([&](Module& m) { return m.initialize(args); });
}
CERTKEY_EXPORT CK_RV C_Finalize(CK_VOID_PTR reserved) {
  if (reserved) return CKR_ARGUMENTS_BAD;
  try {
    // Like C_WaitForSlotEvent, it hands the lock on: it waits for a blocked waiter to leave.
    std::unique_lock<std::mutex> lock(certkey::p11::module().mutex());
    return certkey::p11::module().finalize(lock);
  } catch (const certkey::p11::Failure& f) {
    return f.rv;
  } catch (...) {
    return CKR_GENERAL_ERROR;
  }
}
CERTKEY_EXPORT CK_RV C_GetInfo(CK_INFO_PTR info) {
  return guarded([&](Module& m) { return m.get_info(info); });
}
CERTKEY_EXPORT CK_RV C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count) {
  return guarded([&](Module& m) { return m.get_slot_list(present, list, count); });
}
CERTKEY_EXPORT CK_RV C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info) {
  return guarded([&](Module& m) { return m.get_slot_info(slot, info); });
}
CERTKEY_EXPORT CK_RV C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info) {
  return guarded([&](Module& m) { return m.get_token_info(slot, info); });
}
CERTKEY_EXPORT CK_RV C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list,
                                        CK_ULONG_PTR count) {
  return guarded([&](Module& m) { return m.get_mechanism_list(slot, list, count); });
}
CERTKEY_EXPORT CK_RV C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
                                        CK_MECHANISM_INFO_PTR info) {
  return guarded([&](Module& m) { return m.get_mechanism_info(slot, type, info); });
}
CERTKEY_EXPORT CK_RV C_InitToken(CK_SLOT_ID, CK_UTF8CHAR_PTR, CK_ULONG, CK_UTF8CHAR_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;  // PIV tokens are personalised, not initialised
}
CERTKEY_EXPORT CK_RV C_InitPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR pin, CK_ULONG len) {
  return guarded([&](Module& m) { return m.init_pin(s, pin, len); });
}
CERTKEY_EXPORT CK_RV C_SetPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR_PTR old_pin, CK_ULONG old_len,
                              CK_UTF8CHAR_PTR new_pin, CK_ULONG new_len) {
  return guarded([&](Module& m) { return m.set_pin(s, old_pin, old_len, new_pin, new_len); });
}
CERTKEY_EXPORT CK_RV C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR, CK_NOTIFY,
                                   CK_SESSION_HANDLE_PTR s) {
  return guarded([&](Module& m) { return m.open_session(slot, flags, s); });
}
CERTKEY_EXPORT CK_RV C_CloseSession(CK_SESSION_HANDLE s) {
  return guarded([&](Module& m) { return m.close_session(s); });
}
CERTKEY_EXPORT CK_RV C_CloseAllSessions(CK_SLOT_ID slot) {
  return guarded([&](Module& m) { return m.close_all_sessions(slot); });
}
CERTKEY_EXPORT CK_RV C_GetSessionInfo(CK_SESSION_HANDLE s, CK_SESSION_INFO_PTR info) {
  return guarded([&](Module& m) { return m.get_session_info(s, info); });
}
CERTKEY_EXPORT CK_RV C_GetOperationState(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_SetOperationState(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_OBJECT_HANDLE,
                                         CK_OBJECT_HANDLE) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_Login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
                             CK_ULONG len) {
  return guarded([&](Module& m) { return m.login(s, user, pin, len); });
}
CERTKEY_EXPORT CK_RV C_Logout(CK_SESSION_HANDLE s) {
  return guarded([&](Module& m) { return m.logout(s); });
}
CERTKEY_EXPORT CK_RV C_CreateObject(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n,
                                    CK_OBJECT_HANDLE_PTR o) {
  return guarded([&](Module& m) { return m.create_object(s, t, n, o); });
}
CERTKEY_EXPORT CK_RV C_CopyObject(CK_SESSION_HANDLE, CK_OBJECT_HANDLE, CK_ATTRIBUTE_PTR, CK_ULONG,
                                  CK_OBJECT_HANDLE_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_DestroyObject(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o) {
  return guarded([&](Module& m) { return m.destroy_object(s, o); });
}
CERTKEY_EXPORT CK_RV C_GetObjectSize(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ULONG_PTR size) {
  return guarded([&](Module& m) { return m.get_object_size(s, o, size); });
}
CERTKEY_EXPORT CK_RV C_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                                         CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  return guarded([&](Module& m) { return m.get_attribute_value(s, o, t, n); });
}
CERTKEY_EXPORT CK_RV C_SetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                                         CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  return guarded([&](Module& m) { return m.set_attribute_value(s, o, t, n); });
}
CERTKEY_EXPORT CK_RV C_FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n) {
  return guarded([&](Module& m) { return m.find_objects_init(s, t, n); });
}
CERTKEY_EXPORT CK_RV C_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR o, CK_ULONG max,
                                   CK_ULONG_PTR n) {
  return guarded([&](Module& m) { return m.find_objects(s, o, max, n); });
}
CERTKEY_EXPORT CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE s) {
  return guarded([&](Module& m) { return m.find_objects_final(s); });
}
CERTKEY_EXPORT CK_RV C_EncryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                                   CK_OBJECT_HANDLE key) {
  return guarded([&](Module& m) { return m.encrypt_init(s, mech, key); });
}
CERTKEY_EXPORT CK_RV C_Encrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len,
                               CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return guarded([&](Module& m) { return m.encrypt(s, in, in_len, out, out_len); });
}
CERTKEY_EXPORT CK_RV C_EncryptUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len,
                                     CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return guarded([&](Module& m) { return m.encrypt_update(s, in, in_len, out, out_len); });
}
CERTKEY_EXPORT CK_RV C_EncryptFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return guarded([&](Module& m) { return m.encrypt_final(s, out, out_len); });
}
CERTKEY_EXPORT CK_RV C_DecryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                                   CK_OBJECT_HANDLE key) {
  return guarded([&](Module& m) { return m.decrypt_init(s, mech, key); });
}
CERTKEY_EXPORT CK_RV C_Decrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len,
                               CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return guarded([&](Module& m) { return m.decrypt(s, in, in_len, out, out_len); });
}
CERTKEY_EXPORT CK_RV C_DecryptUpdate(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                                     CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_DecryptFinal(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_DigestInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech) {
  return guarded([&](Module& m) { return m.digest_init(s, mech); });
}
CERTKEY_EXPORT CK_RV C_Digest(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
                              CK_ULONG_PTR out_len) {
  return guarded([&](Module& m) { return m.digest(s, in, in_len, out, out_len); });
}
CERTKEY_EXPORT CK_RV C_DigestUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR part, CK_ULONG len) {
  return guarded([&](Module& m) { return m.digest_update(s, part, len); });
}
CERTKEY_EXPORT CK_RV C_DigestKey(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
  return guarded([&](Module& m) { return m.digest_key(s, key); });
}
CERTKEY_EXPORT CK_RV C_DigestFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR out, CK_ULONG_PTR out_len) {
  return guarded([&](Module& m) { return m.digest_final(s, out, out_len); });
}
CERTKEY_EXPORT CK_RV C_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key) {
  return guarded([&](Module& m) { return m.sign_init(s, mech, key); });
}
CERTKEY_EXPORT CK_RV C_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
                            CK_ULONG_PTR sig_len) {
  return guarded([&](Module& m) { return m.sign(s, data, len, sig, sig_len); });
}
CERTKEY_EXPORT CK_RV C_SignUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR part, CK_ULONG len) {
  return guarded([&](Module& m) { return m.sign_update(s, part, len); });
}
CERTKEY_EXPORT CK_RV C_SignFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len) {
  return guarded([&](Module& m) { return m.sign_final(s, sig, sig_len); });
}
CERTKEY_EXPORT CK_RV C_SignRecoverInit(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_SignRecover(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                                   CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_VerifyInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                                  CK_OBJECT_HANDLE key) {
  return guarded([&](Module& m) { return m.verify_init(s, mech, key); });
}
CERTKEY_EXPORT CK_RV C_Verify(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig,
                              CK_ULONG sig_len) {
  return guarded([&](Module& m) { return m.verify(s, data, len, sig, sig_len); });
}
CERTKEY_EXPORT CK_RV C_VerifyUpdate(CK_SESSION_HANDLE s, CK_BYTE_PTR part, CK_ULONG len) {
  return guarded([&](Module& m) { return m.verify_update(s, part, len); });
}
CERTKEY_EXPORT CK_RV C_VerifyFinal(CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG sig_len) {
  return guarded([&](Module& m) { return m.verify_final(s, sig, sig_len); });
}
CERTKEY_EXPORT CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_VerifyRecover(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                                     CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                                           CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                                           CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                                         CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE, CK_BYTE_PTR, CK_ULONG, CK_BYTE_PTR,
                                           CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_GenerateKey(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_ATTRIBUTE_PTR, CK_ULONG,
                                   CK_OBJECT_HANDLE_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech,
                                       CK_ATTRIBUTE_PTR pub, CK_ULONG pub_n, CK_ATTRIBUTE_PTR priv,
                                       CK_ULONG priv_n, CK_OBJECT_HANDLE_PTR pub_key,
                                       CK_OBJECT_HANDLE_PTR priv_key) {
  return guarded([&](Module& m) {
    return m.generate_key_pair(s, mech, pub, pub_n, priv, priv_n, pub_key, priv_key);
  });
}
CERTKEY_EXPORT CK_RV C_WrapKey(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE,
                               CK_OBJECT_HANDLE, CK_BYTE_PTR, CK_ULONG_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_UnwrapKey(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE, CK_BYTE_PTR,
                                 CK_ULONG, CK_ATTRIBUTE_PTR, CK_ULONG, CK_OBJECT_HANDLE_PTR) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_DeriveKey(CK_SESSION_HANDLE s, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE base,
                                 CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR key) {
  return guarded([&](Module& m) { return m.derive_key(s, mech, base, t, n, key); });
}
CERTKEY_EXPORT CK_RV C_SeedRandom(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG n) {
  return guarded([&](Module& m) { return m.seed_random(s, data, n); });
}
CERTKEY_EXPORT CK_RV C_GenerateRandom(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG n) {
  return guarded([&](Module& m) { return m.generate_random(s, data, n); });
}
CERTKEY_EXPORT CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE) { return CKR_FUNCTION_NOT_PARALLEL; }
CERTKEY_EXPORT CK_RV C_CancelFunction(CK_SESSION_HANDLE) { return CKR_FUNCTION_NOT_PARALLEL; }
CERTKEY_EXPORT CK_RV C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved) {
  if (reserved) return CKR_ARGUMENTS_BAD;
  try {
    std::unique_lock<std::mutex> lock(certkey::p11::module().mutex());
    return certkey::p11::module().wait_for_slot_event(flags, slot, lock);
  } catch (const certkey::p11::Failure& f) {
    return f.rv;
  } catch (...) {
    return CKR_GENERAL_ERROR;
  }
}

// ---- 3.0 additions ---------------------------------------------------------------------------

CERTKEY_EXPORT CK_RV C_LoginUser(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
                                 CK_ULONG len, CK_UTF8CHAR_PTR, CK_ULONG) {
  return C_Login(s, user, pin, len);  // PIV has one user; the user name is not used
}
CERTKEY_EXPORT CK_RV C_SessionCancel(CK_SESSION_HANDLE, CK_FLAGS) {
  return CKR_FUNCTION_NOT_SUPPORTED;
}
CERTKEY_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);
CERTKEY_EXPORT CK_RV C_GetInterfaceList(certkey::p11::Interface* list, CK_ULONG* count);
CERTKEY_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                                    certkey::p11::Interface** iface, CK_FLAGS flags);

namespace certkey::p11 {
namespace {

CK_FUNCTION_LIST kFunctions240 = {{2, 40},
                                  C_Initialize,
                                  C_Finalize,
                                  C_GetInfo,
                                  C_GetFunctionList,
                                  C_GetSlotList,
                                  C_GetSlotInfo,
                                  C_GetTokenInfo,
                                  C_GetMechanismList,
                                  C_GetMechanismInfo,
                                  C_InitToken,
                                  C_InitPIN,
                                  C_SetPIN,
                                  C_OpenSession,
                                  C_CloseSession,
                                  C_CloseAllSessions,
                                  C_GetSessionInfo,
                                  C_GetOperationState,
                                  C_SetOperationState,
                                  C_Login,
                                  C_Logout,
                                  C_CreateObject,
                                  C_CopyObject,
                                  C_DestroyObject,
                                  C_GetObjectSize,
                                  C_GetAttributeValue,
                                  C_SetAttributeValue,
                                  C_FindObjectsInit,
                                  C_FindObjects,
                                  C_FindObjectsFinal,
                                  C_EncryptInit,
                                  C_Encrypt,
                                  C_EncryptUpdate,
                                  C_EncryptFinal,
                                  C_DecryptInit,
                                  C_Decrypt,
                                  C_DecryptUpdate,
                                  C_DecryptFinal,
                                  C_DigestInit,
                                  C_Digest,
                                  C_DigestUpdate,
                                  C_DigestKey,
                                  C_DigestFinal,
                                  C_SignInit,
                                  C_Sign,
                                  C_SignUpdate,
                                  C_SignFinal,
                                  C_SignRecoverInit,
                                  C_SignRecover,
                                  C_VerifyInit,
                                  C_Verify,
                                  C_VerifyUpdate,
                                  C_VerifyFinal,
                                  C_VerifyRecoverInit,
                                  C_VerifyRecover,
                                  C_DigestEncryptUpdate,
                                  C_DecryptDigestUpdate,
                                  C_SignEncryptUpdate,
                                  C_DecryptVerifyUpdate,
                                  C_GenerateKey,
                                  C_GenerateKeyPair,
                                  C_WrapKey,
                                  C_UnwrapKey,
                                  C_DeriveKey,
                                  C_SeedRandom,
                                  C_GenerateRandom,
                                  C_GetFunctionStatus,
                                  C_CancelFunction,
                                  C_WaitForSlotEvent};

FunctionList30 make_functions30() {
  FunctionList30 f{};
  static_assert(sizeof(CK_FUNCTION_LIST) <= sizeof(FunctionList30));
  std::memcpy(&f, &kFunctions240, sizeof(CK_FUNCTION_LIST));  // the 2.40 prefix is identical
  f.version = {3, 0};
  f.C_GetInterfaceList = C_GetInterfaceList;
  f.C_GetInterface = C_GetInterface;
  f.C_LoginUser = C_LoginUser;
  f.C_SessionCancel = C_SessionCancel;
  // The message-based functions take arguments this one ignores; under the C calling
  // convention the caller cleans up, so answering "not supported" this way is safe.
  for (auto& fn : f.message_functions) fn = not_supported;
  return f;
}
FunctionList30 kFunctions30 = make_functions30();

CK_RV vendor_token_info(CK_SLOT_ID slot, CK_CERTKEY_TOKEN_INFO* info) {
  return guarded([&](Module& m) { return m.vendor_token_info(slot, info); });
}
CK_RV vendor_unlock_challenge(CK_SLOT_ID slot, CK_BYTE* challenge) {
  return guarded([&](Module& m) { return m.vendor_unlock_challenge(slot, challenge); });
}
CK_RV vendor_unlock_response(CK_SLOT_ID slot, const CK_BYTE* response, CK_UTF8CHAR_PTR pin,
                             CK_ULONG len) {
  return guarded([&](Module& m) { return m.vendor_unlock_response(slot, response, pin, len); });
}
CK_RV vendor_swap_slots(CK_SLOT_ID slot, CK_BYTE key_id_a, CK_BYTE key_id_b) {
  return guarded([&](Module& m) { return m.vendor_swap_slots(slot, key_id_a, key_id_b); });
}
CK_CERTKEY_FUNCTION_LIST kVendorFunctions = {
    {CERTKEY_VENDOR_VERSION_MAJOR, CERTKEY_VENDOR_VERSION_MINOR},
    vendor_token_info,
    vendor_unlock_challenge,
    vendor_unlock_response,
    vendor_swap_slots};

CK_CHAR kPkcs11Name[] = "PKCS 11";
CK_CHAR kVendorName[] = CERTKEY_VENDOR_INTERFACE_NAME;
Interface kInterfaces[] = {
    // Not fork-safe in PKCS#11's sense: a child must call C_Initialize and starts afresh.
    {kPkcs11Name, &kFunctions30, 0},
    {kPkcs11Name, &kFunctions240, 0},
    {kVendorName, &kVendorFunctions, 0},
};
constexpr CK_ULONG kInterfaceCount = sizeof kInterfaces / sizeof kInterfaces[0];

CK_VERSION interface_version(const Interface& i) {
  return *static_cast<const CK_VERSION*>(i.pFunctionList);
}

// Whether interface `i` answers a request for `wanted`. The PKCS#11 lists match exactly (3.0
// and 2.40 differ). The vendor list only grows at its end within a major version, so it also
// answers a request for an older minor version: a host built against 2.0 gets the 2.1 list
// and uses its first three functions.
bool answers_version(const Interface& i, const CK_VERSION& wanted) {
  const CK_VERSION v = interface_version(i);
  const bool vendor = i.pFunctionList == &kVendorFunctions;
  return v.major == wanted.major && (vendor ? wanted.minor <= v.minor : wanted.minor == v.minor);
}

}  // namespace
}  // namespace certkey::p11

CERTKEY_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list) {
  if (!list) return CKR_ARGUMENTS_BAD;
  *list = &certkey::p11::kFunctions240;
  return CKR_OK;
}

CERTKEY_EXPORT CK_RV C_GetInterfaceList(certkey::p11::Interface* list, CK_ULONG* count) {
  using namespace certkey::p11;
  if (!count) return CKR_ARGUMENTS_BAD;
  if (!list) {
    *count = kInterfaceCount;
    return CKR_OK;
  }
  if (*count < kInterfaceCount) {
    *count = kInterfaceCount;
    return CKR_BUFFER_TOO_SMALL;
  }
  std::memcpy(list, kInterfaces, sizeof kInterfaces);
  *count = kInterfaceCount;
  return CKR_OK;
}

// No name: the default "PKCS 11" interface (3.0). A name and an optional version pick one.
CERTKEY_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                                    certkey::p11::Interface** iface, CK_FLAGS flags) {
  using namespace certkey::p11;
  if (!iface) return CKR_ARGUMENTS_BAD;
  for (Interface& i : kInterfaces) {
    if (name && std::strcmp(reinterpret_cast<const char*>(name),
                            reinterpret_cast<const char*>(i.pInterfaceName)) != 0) {
      continue;
    }
    if (version && !answers_version(i, *version)) continue;
    if ((i.flags & flags) != flags) continue;
    *iface = &i;
    return CKR_OK;
  }
  return CKR_ARGUMENTS_BAD;
}
