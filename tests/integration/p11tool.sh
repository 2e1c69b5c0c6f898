#!/usr/bin/env bash
# GnuTLS p11tool with libcertkey-pkcs11.so: --list-all, and --test-sign on an EC
# key and on an RSA key.
source "$(dirname "$0")/lib.sh"
P=(pkcs11-tool --module "$CERTKEY_MODULE" --login --pin 123456)
"${P[@]}" --keypairgen --key-type EC:prime256v1 --id 01 >/dev/null 2>&1 || fail "EC keygen"
"${P[@]}" --keypairgen --key-type rsa:2048 --id 03 >/dev/null 2>&1 || fail "RSA keygen"

step "p11tool --list-all"
expect_output "Public key (EC/ECDSA-SECP256R1)" p11tool --provider "$CERTKEY_MODULE" --list-all "pkcs11:"
expect_output "Public key (RSA-2048)" p11tool --provider "$CERTKEY_MODULE" --list-all "pkcs11:"

step "p11tool --test-sign: ECDSA (9A) and RSA (9D)"
for object in "PIV%20Authentication" "Key%20Management"; do
  out=$(GNUTLS_PIN=123456 p11tool --provider "$CERTKEY_MODULE" --login --test-sign \
        "pkcs11:object=$object;type=private" 2>&1) || { echo "$out"; fail "--test-sign $object"; }
  grep -q "Verifying against public key in the token... ok" <<<"$out" || { echo "$out"; fail "$object"; }
done
echo "p11tool: all checks passed"
