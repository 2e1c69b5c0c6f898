/* certkey PKCS#11 vendor interface (docs/pkcs11.md).
 *
 * Obtain it with C_GetInterface((CK_UTF8CHAR_PTR)"Vendor certkey", NULL, &iface, 0); the
 * interface's pFunctionList points to a CK_CERTKEY_FUNCTION_LIST. It covers what PKCS#11 has
 * no call for: token information beyond CK_TOKEN_INFO, remote PIN unlock by
 * challenge/response (docs/unlock.md), and swapping two key slots' contents in one atomic
 * step (renewal's "make current"). Include a PKCS#11 header (pkcs11.h) first.
 *
 * Versions: a new minor version only appends functions, so a request for an older minor
 * version of the same major version is answered with the current list. */
#ifndef CERTKEY_PKCS11_VENDOR_H
#define CERTKEY_PKCS11_VENDOR_H

#ifdef __cplusplus
extern "C" {
#endif

#define CERTKEY_VENDOR_INTERFACE_NAME "Vendor certkey"
#define CERTKEY_VENDOR_VERSION_MAJOR 2
#define CERTKEY_VENDOR_VERSION_MINOR 1

/* Media (CK_CERTKEY_TOKEN_INFO.medium). */
#define CERTKEY_MEDIUM_SMARTCARD 0UL
#define CERTKEY_MEDIUM_SIM 1UL
#define CERTKEY_MEDIUM_USB_KEY 2UL
#define CERTKEY_MEDIUM_SD_KEY 3UL

#define CERTKEY_UNLOCK_CODE_LENGTH 10

/* The one-byte CKA_ID of each key slot (docs/pkcs11.md section 6.2): 01-04 are 9A, 9C, 9D and
 * 9E; 05-18 are the retired slots 82-95, in order. */
#define CERTKEY_KEY_ID_9A 0x01
#define CERTKEY_KEY_ID_9E 0x04
#define CERTKEY_KEY_ID_FIRST_RETIRED 0x05
#define CERTKEY_KEY_ID_LAST_RETIRED 0x18
#define CERTKEY_FIRST_RETIRED_SLOT 0x82

typedef struct CK_CERTKEY_TOKEN_INFO {
  CK_ULONG serial;     /* the token's 32-bit serial number */
  CK_ULONG medium;     /* CERTKEY_MEDIUM_* */
  CK_VERSION firmware; /* certkey firmware version (major.minor) */
  CK_ULONG firmware_patch;
  CK_ULONG change_counter; /* grows with every change to the token's contents */
  CK_ULONG unlock_retries; /* remote unlock attempts left; (CK_ULONG)-1 without unlock key */
  /* Since 2.0: the PIN and PUK state, read in the same APDU as the change counter (PIN
   * attempts do not advance the counter). */
  CK_ULONG pin_retry_limit;
  CK_ULONG pin_retries; /* tries left; 0: blocked */
  CK_BBOOL pin_is_default;
  CK_ULONG puk_retry_limit;
  CK_ULONG puk_retries;
  CK_BBOOL puk_is_default;
} CK_CERTKEY_TOKEN_INFO;

typedef struct CK_CERTKEY_FUNCTION_LIST {
  CK_VERSION version;
  CK_RV (*C_CertkeyGetTokenInfo)(CK_SLOT_ID slot, CK_CERTKEY_TOKEN_INFO* info);
  /* A fresh single-use challenge (10 bytes); the holder reads it out as a code. */
  CK_RV (*C_CertkeyUnlockChallenge)(CK_SLOT_ID slot, CK_BYTE challenge[CERTKEY_UNLOCK_CODE_LENGTH]);
  /* Submits the help desk's 10-byte response and the new user PIN. CKR_PIN_INCORRECT for a
   * wrong response (the unlock counter went down), CKR_PIN_LOCKED when the unlock key is
   * blocked, CKR_OPERATION_NOT_INITIALIZED without a pending challenge. */
  /* clang-format 14 splits this declaration differently on every run. */
  /* clang-format off */
  CK_RV (*C_CertkeyUnlockResponse)(CK_SLOT_ID slot,
                                   const CK_BYTE response[CERTKEY_UNLOCK_CODE_LENGTH],
                                   CK_UTF8CHAR_PTR new_pin, CK_ULONG new_pin_length);
  /* clang-format on */
  /* Since 2.1. The key slots with CKA_IDs key_id_a and key_id_b (01-18: 9A, 9C, 9D, 9E and the
   * retired slots 82-95; different) exchange their keys and certificates in one atomic write
   * on the token: a power cut leaves the old or the new arrangement, never a mix. Needs the
   * user logged in (C_Login) and authenticates the management key as the module's writes do.
   * CKR_ARGUMENTS_BAD for other ids, CKR_KEY_HANDLE_INVALID when both slots are empty,
   * CKR_FUNCTION_NOT_SUPPORTED when the token's firmware has no SWAP SLOTS. */
  CK_RV (*C_CertkeySwapSlots)(CK_SLOT_ID slot, CK_BYTE key_id_a, CK_BYTE key_id_b);
} CK_CERTKEY_FUNCTION_LIST;

#ifdef __cplusplus
}
#endif
#endif
