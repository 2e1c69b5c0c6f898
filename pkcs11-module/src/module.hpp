// All PKCS#11 semantics of libcertkey-pkcs11.so. entry.cpp forwards every C_* call here
// under the module lock and turns exceptions into CK_RV; the methods check arguments and
// state in the order the standard lists them, then work through Token and certkey::card.
// Split by function family: module.cpp (init, slots, sessions), module_pin.cpp,
// module_objects.cpp (find, attributes, create/destroy, key generation), module_crypto.cpp
// (sign, decrypt, derive), module_vendor.cpp.
#pragma once
#include <certkey/card/pcsc.hpp>
#include <certkey/protocol/sw.hpp>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <sys/types.h>
#include <unistd.h>
#include <vector>

#include "encoding.hpp"
#include "objects.hpp"
#include "module_config.hpp"
#include "pkcs11.hpp"
#include "public_key_ops.hpp"
#include "token.hpp"

namespace certkey::p11 {

using protocol::Sw;

// Thrown inside the module; entry.cpp returns its code.
struct Failure {
  CK_RV rv;
};

struct Operation {
  enum class Type { none, sign, decrypt, digest, verify, encrypt } type = Type::none;
  CK_MECHANISM_TYPE mechanism = 0;
  std::uint8_t piv_slot = 0;
  std::uint8_t algorithm = 0;
  Hash hash = Hash::none;  // hashed mechanisms, PSS and OAEP
  Hash mgf1 = Hash::none;
  std::size_t salt_length = 0;
  Bytes label;  // OAEP
  std::unique_ptr<Digest> digest;
  Bytes buffered;  // multi-part input of unhashed mechanisms
  bool needs_context_login = false;
  bool context_login_done = false;
  std::optional<Bytes> decrypted;  // kept for a retry with a larger buffer
  // Verify and encrypt, in software (module_software.cpp): the key's public half and how to use it.
  std::optional<PublicKeyParts> public_key;
  PublicKeyOperation software;

  Operation() = default;
  Operation(Operation&&) = default;
  Operation& operator=(Operation&&) = default;
  ~Operation() { wipe(); }
  // Multi-part input: hashed as it comes, or kept up to `longest` bytes for a raw mechanism
  // (CKR_DATA_LEN_RANGE beyond, and the operation ends).
  CK_RV take(const CK_BYTE* part, CK_ULONG length, std::size_t longest);
  // Ends the operation; data and results it held are wiped first.
  void end() {
    wipe();
    *this = Operation{};
  }

 private:
  void wipe();
};

// PKCS#11 3.0 section 5.2: with no buffer, or one shorter than `needed`, a call answers with the
// length (CKR_OK or CKR_BUFFER_TOO_SMALL) and its operation goes on. Nothing when `out` has room.
std::optional<CK_RV> length_answer(const CK_BYTE* out, CK_ULONG* out_length, std::size_t needed);

struct Session {
  std::size_t token_index = 0;
  CK_FLAGS flags = 0;
  std::uint64_t generation = 0;
  std::vector<CK_OBJECT_HANDLE> found;
  std::size_t found_next = 0;
  bool finding = false;
  Operation operation;
};

class Module {
 public:
  std::mutex& mutex() { return mutex_; }
  bool initialized() const { return initialized_; }
  bool initialized_in_this_process() const { return initialized_ && !forked_since_initialize(); }
  // From the module's pthread_atfork child handler (entry.cpp): the process is a new one.
  void note_fork() { ++forks_; }

  // Where the module finds cards: PC/SC unless a test put a transcript there before C_Initialize
  // (docs/testing.md, "Transcript tests"). The slot table starts afresh.
  void use_card_links(card::CardLinks& links);

  // module.cpp
  CK_RV initialize(CK_VOID_PTR args);
  // Ends a C_WaitForSlotEvent blocked in another thread before it returns (releasing `lock`
  // while it waits for that thread to leave).
  CK_RV finalize(std::unique_lock<std::mutex>& lock);
  // At process exit without C_Finalize: logs out and closes the connections, but frees no
  // OpenSSL object (libcrypto's own exit handler has run by then).
  void release_at_exit();
  CK_RV get_info(CK_INFO* info);
  CK_RV get_slot_list(CK_BBOOL token_present, CK_SLOT_ID* list, CK_ULONG* count);
  CK_RV get_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO* info);
  CK_RV get_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO* info);
  CK_RV get_mechanism_list(CK_SLOT_ID slot, CK_MECHANISM_TYPE* list, CK_ULONG* count);
  CK_RV get_mechanism_info(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO* info);
  CK_RV open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_SESSION_HANDLE* session);
  CK_RV close_session(CK_SESSION_HANDLE session);
  CK_RV close_all_sessions(CK_SLOT_ID slot);
  CK_RV get_session_info(CK_SESSION_HANDLE session, CK_SESSION_INFO* info);
  // Runs without the module lock while it blocks (see entry.cpp).
  CK_RV wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID* slot, std::unique_lock<std::mutex>& lock);

  // module_pin.cpp
  CK_RV login(CK_SESSION_HANDLE session, CK_USER_TYPE user, const CK_UTF8CHAR* pin,
              CK_ULONG length);
  CK_RV logout(CK_SESSION_HANDLE session);
  CK_RV init_pin(CK_SESSION_HANDLE session, const CK_UTF8CHAR* pin, CK_ULONG length);
  CK_RV set_pin(CK_SESSION_HANDLE session, const CK_UTF8CHAR* old_pin, CK_ULONG old_length,
                const CK_UTF8CHAR* new_pin, CK_ULONG new_length);

  // module_objects.cpp
  CK_RV find_objects_init(CK_SESSION_HANDLE session, CK_ATTRIBUTE* templ, CK_ULONG count);
  CK_RV find_objects(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE* objects, CK_ULONG max,
                     CK_ULONG* count);
  CK_RV find_objects_final(CK_SESSION_HANDLE session);
  CK_RV get_attribute_value(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE* templ,
                            CK_ULONG count);
  CK_RV get_object_size(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ULONG* size);
  // PIV objects have fixed labels and IDs: CKR_ACTION_PROHIBITED, once the session, the
  // object and the template have been checked as for any other call.
  CK_RV set_attribute_value(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE* templ,
                            CK_ULONG count);
  // C_GenerateRandom: the token's random source (GET CHALLENGE), in one transaction.
  // C_SeedRandom: the token takes no seed. Both after the usual checks of initialisation,
  // session and arguments (docs/pkcs11.md section 9.6).
  CK_RV generate_random(CK_SESSION_HANDLE session, CK_BYTE* data, CK_ULONG length);
  CK_RV seed_random(CK_SESSION_HANDLE session, const CK_BYTE* data, CK_ULONG length);
  CK_RV create_object(CK_SESSION_HANDLE session, CK_ATTRIBUTE* templ, CK_ULONG count,
                      CK_OBJECT_HANDLE* object);
  CK_RV destroy_object(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object);
  CK_RV generate_key_pair(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism,
                          CK_ATTRIBUTE* public_template, CK_ULONG public_count,
                          CK_ATTRIBUTE* private_template, CK_ULONG private_count,
                          CK_OBJECT_HANDLE* public_key, CK_OBJECT_HANDLE* private_key);

  // module_crypto.cpp
  CK_RV sign_init(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism, CK_OBJECT_HANDLE key);
  CK_RV sign(CK_SESSION_HANDLE session, const CK_BYTE* data, CK_ULONG length, CK_BYTE* signature,
             CK_ULONG* signature_length);
  CK_RV sign_update(CK_SESSION_HANDLE session, const CK_BYTE* part, CK_ULONG length);
  CK_RV sign_final(CK_SESSION_HANDLE session, CK_BYTE* signature, CK_ULONG* signature_length);
  CK_RV decrypt_init(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism, CK_OBJECT_HANDLE key);
  CK_RV decrypt(CK_SESSION_HANDLE session, const CK_BYTE* data, CK_ULONG length, CK_BYTE* plain,
                CK_ULONG* plain_length);
  CK_RV derive_key(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism, CK_OBJECT_HANDLE base_key,
                   CK_ATTRIBUTE* templ, CK_ULONG count, CK_OBJECT_HANDLE* key);

  // module_software.cpp: no APDU; OpenSSL with the token keys' public halves
  CK_RV digest_init(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism);
  CK_RV digest(CK_SESSION_HANDLE session, const CK_BYTE* data, CK_ULONG length, CK_BYTE* out,
               CK_ULONG* out_length);
  CK_RV digest_update(CK_SESSION_HANDLE session, const CK_BYTE* part, CK_ULONG length);
  CK_RV digest_key(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key);
  CK_RV digest_final(CK_SESSION_HANDLE session, CK_BYTE* out, CK_ULONG* out_length);
  CK_RV verify_init(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism, CK_OBJECT_HANDLE key);
  CK_RV verify(CK_SESSION_HANDLE session, const CK_BYTE* data, CK_ULONG length,
               const CK_BYTE* signature, CK_ULONG signature_length);
  CK_RV verify_update(CK_SESSION_HANDLE session, const CK_BYTE* part, CK_ULONG length);
  CK_RV verify_final(CK_SESSION_HANDLE session, const CK_BYTE* signature,
                     CK_ULONG signature_length);
  CK_RV encrypt_init(CK_SESSION_HANDLE session, CK_MECHANISM* mechanism, CK_OBJECT_HANDLE key);
  CK_RV encrypt(CK_SESSION_HANDLE session, const CK_BYTE* data, CK_ULONG length, CK_BYTE* out,
                CK_ULONG* out_length);
  CK_RV encrypt_update(CK_SESSION_HANDLE session, const CK_BYTE* part, CK_ULONG length,
                       CK_BYTE* out, CK_ULONG* out_length);
  CK_RV encrypt_final(CK_SESSION_HANDLE session, CK_BYTE* out, CK_ULONG* out_length);

  // module_vendor.cpp
  CK_RV vendor_token_info(CK_SLOT_ID slot, CK_CERTKEY_TOKEN_INFO* info);
  CK_RV vendor_unlock_challenge(CK_SLOT_ID slot, CK_BYTE* challenge);
  CK_RV vendor_unlock_response(CK_SLOT_ID slot, const CK_BYTE* response, const CK_UTF8CHAR* pin,
                               CK_ULONG length);
  CK_RV vendor_swap_slots(CK_SLOT_ID slot, CK_BYTE key_id_a, CK_BYTE key_id_b);

 private:
  void require_initialized() const;
  void refresh_readers();
  std::size_t token_index(CK_SLOT_ID slot);
  // The slot's token, connected (throws CKR_TOKEN_NOT_PRESENT). Asks pcscd nothing while it
  // holds a connection.
  Token& present_token(CK_SLOT_ID slot);
  // Whether each slot (in tokens_'s order) has a token, from one PC/SC query of every reader.
  std::vector<bool> present_tokens();
  // The live session behind a handle, after the initialisation, `arguments_valid` (the call's
  // pointers and lengths) and `mechanism_known` are checked, in the order of docs/pkcs11.md 8.7.
  Session& session(CK_SESSION_HANDLE handle, bool arguments_valid = true,
                   bool mechanism_known = true);
  Token& token_of(const Session& s) { return *tokens_[s.token_index]; }
  void drop_sessions_of(std::size_t token_index);
  void end_login(Token& token);
  void drop_orphaned_secrets();
  // A slot's cached objects, refreshed against the change counter (one APDU when warm; none
  // when `known` is the counter this session's login just read).
  const std::vector<KeySlot>& key_slots(Token& token,
                                        const std::optional<card::TokenInfo>& known = std::nullopt);
  const KeySlot* key_slot(Token& token, std::uint8_t piv_slot);
  const KeySlot& private_key_for(Session& s, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE_TYPE usage);
  const KeySlot& public_key_for(Session& s, CK_OBJECT_HANDLE handle, CK_ATTRIBUTE_TYPE usage);
  CK_RV finish_sign(Session& s, CK_BYTE* signature, CK_ULONG* signature_length);
  CK_RV finish_verify(Session& s, const CK_BYTE* signature, CK_ULONG signature_length);
  CK_RV finish_encrypt(Session& s, CK_BYTE* out, CK_ULONG* out_length);
  void authenticate_management(card::TokenClient& client);
  void authenticate_with_protected_key(card::TokenClient& client,
                                       const card::ManagementKeyInfo& info);
  std::optional<SessionSecret*> session_secret(std::uint32_t id);

  std::mutex mutex_;
  bool initialized_ = false;
  ModuleConfig config_;
  // Forks since the module was created, and their number at C_Initialize: a counter the
  // atfork handler keeps, where comparing process IDs would cost a system call per C_* call.
  unsigned forks_ = 0;
  unsigned forks_at_initialize_ = 0;
  bool forked_since_initialize() const { return forks_ != forks_at_initialize_; }
  card::CardLinks* links_ = &card::pcsc_links();
  std::vector<std::unique_ptr<Token>> tokens_;  // slot table: entries are never removed
  std::map<CK_SESSION_HANDLE, Session> sessions_;
  CK_SESSION_HANDLE next_session_ = 1;
  std::map<std::uint32_t, SessionSecret> secrets_;  // ECDH results (session objects)
  std::uint32_t next_secret_ = 1;
  std::map<CK_SLOT_ID, bool> reported_presence_;  // for C_WaitForSlotEvent
  bool presence_snapshot_taken_ = false;
  card::ReaderChangeWait* waiter_ = nullptr;  // a blocked C_WaitForSlotEvent's wait
  bool finalizing_ = false;                   // a waiter must not block again
  std::condition_variable waiter_left_;
};

// Module::use_card_links on the module's one instance; only while it is not initialised.
void use_card_links(card::CardLinks& links);

// The PIN's length once checked against the token's 6-8 characters (CKR_PIN_LEN_RANGE).
// Whether a PIN or PUK could have this many characters (6 to 8).
bool pin_length_possible(std::size_t length);
std::size_t checked_pin_length(const CK_UTF8CHAR* pin, CK_ULONG length);
// The PIN as a string, for a WipedPin (initialise with it: no temporary copy is left).
std::string pin_text(const CK_UTF8CHAR* pin, CK_ULONG length);
// A PIN copy that is wiped when the call ends, however it ends.
struct WipedPin {
  std::string text;
  ~WipedPin();
};
// Fixed-width, space-padded PKCS#11 text fields.
void pad_copy(CK_UTF8CHAR* out, std::size_t width, const std::string& text);
CK_RV to_ckr(const card::Error& e);

}  // namespace certkey::p11
