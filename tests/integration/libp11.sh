#!/usr/bin/env bash
# libp11 and OpenSSL with libcertkey-pkcs11.so: CSRs signed by token keys through
# the libp11 API and through `openssl req -engine pkcs11`, each checked with
# `openssl req -verify`; PKCS11_store_certificate's certificate gets its serial number.
source "$(dirname "$0")/lib.sh"
P=(pkcs11-tool --module "$CERTKEY_MODULE" --login --pin 123456)
"${P[@]}" --keypairgen --key-type EC:prime256v1 --id 01 >/dev/null 2>&1 || fail "EC keygen"
"${P[@]}" --keypairgen --key-type rsa:2048 --id 03 >/dev/null 2>&1 || fail "RSA keygen"

step "libp11 API: CSRs (EC in 9A, RSA in 9D) and PKCS11_store_certificate"
CERTKEY_MODULE=$CERTKEY_MODULE WORKDIR=$workdir "$CERTKEY_BUILD/tests/integration/libp11_test" ||
  fail "libp11 API test"
for csr in libp11-1.csr libp11-3.csr; do
  expect_output "verify OK" openssl req -verify -in "$csr" -noout
done
expect_output "serial:     5EED" pkcs11-tool --module "$CERTKEY_MODULE" --list-objects --type cert

step "NSS lists the certificate PKCS11_store_certificate wrote (it needs CKA_SERIAL_NUMBER)"
"$CERTKEY_BUILD/pkcs11-module/certkey-register-nss" --dbdir "$workdir/nssdb" --module "$CERTKEY_MODULE" >/dev/null
token=$(pkcs11-tool --module "$CERTKEY_MODULE" -T 2>/dev/null | sed -n 's/^ *token label *: *\(.*\)$/\1/p' | head -1)
expect_output "$token:PIV Authentication" certutil -d "sql:$workdir/nssdb" -L -h "$token"
expect_output "CN=certkey libp11 stored" certutil -d "sql:$workdir/nssdb" -L -n "$token:PIV Authentication"

step "openssl req -engine pkcs11, with the module as the engine's MODULE_PATH"
for key in "id=%01" "id=%03"; do
  OPENSSL_CONF=$(engine_config "$CERTKEY_MODULE") openssl req -new -subj "/CN=certkey engine CSR" \
    -engine pkcs11 -keyform engine -key "pkcs11:$key;type=private" -passin pass:123456 -out engine.csr \
    >/dev/null 2>&1 || fail "openssl req with $key"
  expect_output "verify OK" openssl req -verify -in engine.csr -noout
done
echo "libp11: all checks passed"
