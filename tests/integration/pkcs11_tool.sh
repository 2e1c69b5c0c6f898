#!/usr/bin/env bash
# libcertkey-pkcs11.so under OpenSC's pkcs11-tool: the built-in tests without
# --allow-sw (every mechanism is CKF_HW), EC tests, threads, fork, key generation, writing a
# certificate, changing the PIN and all three unblock conventions.
source "$(dirname "$0")/lib.sh"
[[ -f $CERTKEY_MODULE ]] || fail "module not built: $CERTKEY_MODULE"
P=(pkcs11-tool --module "$CERTKEY_MODULE")

step "RSA-2048 and P-256 key generation"
expect_output "Key pair generated" "${P[@]}" --login --pin 123456 --keypairgen --key-type EC:prime256v1 --id 01
expect_output "Key pair generated" "${P[@]}" --login --pin 123456 --keypairgen --key-type rsa:2048 --id 02
expect_output "Public Key Object; RSA 2048 bits" "${P[@]}" --list-objects --type pubkey

step "pkcs11-tool --test, no --allow-sw"
out=$("${P[@]}" --test --login --pin 123456 2>&1) || { echo "$out"; fail "--test"; }
grep -q "No errors" <<<"$out" || { echo "$out"; fail "--test reported errors"; }
grep -q "RSA-PKCS-OAEP" <<<"$out" || { echo "$out"; fail "--test did not try OAEP"; }

step "ECDH (CKM_ECDH1_DERIVE) with the 9A key equals OpenSSL's shared secret"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.key 2>/dev/null
openssl pkey -in peer.key -pubout -outform DER -out peer.der
"${P[@]}" --login --pin 123456 --derive --id 01 -m ECDH1-DERIVE --input-file peer.der --output-file token-secret.bin \
  >/dev/null 2>&1 || fail "derive"
# (p11tool, not pkcs11-tool --read-object: the latter reads freed memory for EC keys, which
# shows when the sanitizer build preloads ASan into it.)
GNUTLS_PIN=123456 p11tool --provider "$CERTKEY_MODULE" --login --export-pubkey "pkcs11:id=%01;type=public" \
  --outfile token-pub.pem >/dev/null 2>&1 ||
  fail "read public key"
openssl pkeyutl -derive -inkey peer.key -peerkey token-pub.pem -out openssl-secret.bin
cmp token-secret.bin openssl-secret.bin || fail "ECDH secrets differ"

step "pkcs11-tool --test-ec --session-rw"
expect_output "==> OK" "${P[@]}" --login --pin 123456 --test-ec --session-rw --id 03 --key-type EC:secp256r1

step "--test-threads and --test-fork"
out=$("${P[@]}" --test-threads ILGISLT0 --test-threads ILGISLT0 2>&1) || { echo "$out"; fail "--test-threads"; }
grep -q "some errors" <<<"$out" && { echo "$out"; fail "thread errors"; }
expect_output "Calling C_Initialize in forked child process" "${P[@]}" --test-fork

step "write a certificate with --write-object"
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
  -subj "/CN=written by pkcs11-tool" -days 10 -outform DER -out cert.der 2>/dev/null
expect_output "Created certificate" "${P[@]}" --login --pin 123456 --write-object cert.der --type cert --id 04
expect_output "subject:    DN: CN=written by pkcs11-tool" "${P[@]}" --list-objects --type cert
expect_output "serial:" "${P[@]}" --list-objects --type cert

step "--change-pin"
expect_output "PIN successfully changed" "${P[@]}" --login --pin 123456 --change-pin --new-pin 654321
expect_output "Private Key Object" "${P[@]}" --login --pin 654321 --list-objects --type privkey

block_pin() {
  for _ in 1 2 3; do "${P[@]}" --login --pin 000000 --list-objects >/dev/null 2>&1 || true; done
  expect_failure "CKR_PIN_LOCKED" "${P[@]}" --login --pin 000000 --list-objects
}

step "PIN flags are fresh on every C_GetTokenInfo: count low, final try, locked"
"${P[@]}" --login --pin 000000 --list-objects >/dev/null 2>&1 || true
expect_output "user PIN count low" "${P[@]}" --list-token-slots
"${P[@]}" --login --pin 000000 --list-objects >/dev/null 2>&1 || true
expect_output "final user PIN try" "${P[@]}" --list-token-slots
"${P[@]}" --login --pin 000000 --list-objects >/dev/null 2>&1 || true
expect_output "user PIN locked" "${P[@]}" --list-token-slots

step "unblock: C_Login(CKU_SO, PUK) + C_InitPIN"
expect_output "User PIN successfully initialized" "${P[@]}" --init-pin --login --login-type so --so-pin 12345678 --new-pin 222222
expect_output "Private Key Object" "${P[@]}" --login --pin 222222 --list-objects --type privkey

step "unblock: C_SetPIN(PUK, new) in a session that is not logged in"
block_pin
expect_output "PIN successfully changed" "${P[@]}" --unlock-pin --puk 12345678 --new-pin 333333
expect_output "Private Key Object" "${P[@]}" --login --pin 333333 --list-objects --type privkey

step "unblock: C_Login(CKU_CONTEXT_SPECIFIC, PUK) + C_SetPIN (OpenSC's convention)"
block_pin
expect_output "PIN successfully changed" "${P[@]}" --unlock-pin --login --login-type context-specific --puk 12345678 --new-pin 444444
expect_output "Private Key Object" "${P[@]}" --login --pin 444444 --list-objects --type privkey
step "the card authentication key (9E, PIN policy never) is a public object: it signs without a login"
yubico-piv-tool -r token1 -a generate -s 9e -A ECCP256 -o pub9e.pem >/dev/null 2>&1 || fail "generate 9E"
out=$("${P[@]}" --list-objects --type privkey 2>&1)
grep -q "Card Authentication" <<<"$out" || { echo "$out"; fail "9E's private key not listed without a login"; }
grep -q "PIV AUTH\|Authentication\b" <<<"${out/Card Authentication/}" && { echo "$out"; fail "9A's key listed without a login"; }
# (pkcs11-tool logs in before any signature on a token with CKF_LOGIN_REQUIRED; libp11, as
# NSS, looks for the key first and logs in only when it is not found.)
echo "certkey card authentication" > data9e
sign_without_pin() {
  OPENSSL_CONF=$(engine_config "$CERTKEY_MODULE") openssl dgst -sha256 -engine pkcs11 -keyform engine \
    -sign "pkcs11:id=%$1;type=private" -out "sig$1" data9e </dev/null
}
sign_without_pin 04 >/dev/null 2>&1 || fail "9E did not sign without a login"
openssl dgst -sha256 -verify pub9e.pem -signature sig04 data9e | grep -q "Verified OK" || fail "9E signature"
expect_failure "No PIN code was entered" sign_without_pin 01
echo "pkcs11-tool: all checks passed"
