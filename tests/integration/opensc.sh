#!/usr/bin/env bash
# OpenSC's stock PIV support, with no certkey code on the host: pkcs11-tool with
# opensc-pkcs11.so lists the token's certificates and signs with 9a after login; piv-tool
# reads the CHUID.
source "$(dirname "$0")/lib.sh"
P11=(pkcs11-tool --module "$OPENSC_MODULE")

step "provision 9a (P-256) and 9c (RSA-2048) with certificates"
provision_slot token1 9a ECCP256 "certkey opensc 9a"
provision_slot token1 9c RSA2048 "certkey opensc 9c"

step "pkcs11-tool lists the certificates"
expect_output "token label        : certkey opensc 9a" "${P11[@]}" --list-slots
expect_output "label:      Certificate for PIV Authentication" "${P11[@]}" --list-objects --type cert
expect_output "subject:    DN: CN=certkey opensc 9a" "${P11[@]}" --list-objects --type cert
expect_output "subject:    DN: CN=certkey opensc 9c" "${P11[@]}" --list-objects --type cert

step "sign with 9a after login (ECDSA over a SHA-256 digest) and verify with openssl"
echo "sign me" > data
openssl dgst -sha256 -binary data > digest
"${P11[@]}" --login --pin 123456 --sign --id 01 -m ECDSA --signature-format openssl \
  -i digest -o sig9a >/dev/null 2>&1 || fail "pkcs11-tool sign with 9a"
openssl pkeyutl -verify -pubin -inkey pub9a.pem -in digest -sigfile sig9a | grep -q "Signature Verified Successfully" ||
  fail "9a signature does not verify"

step "sign with 9c (RSA PKCS#1 v1.5, PIN always) and verify"
"${P11[@]}" --login --pin 123456 --sign --id 02 -m SHA256-RSA-PKCS -i data -o sig9c >/dev/null 2>&1 ||
  fail "pkcs11-tool sign with 9c"
openssl dgst -sha256 -verify pub9c.pem -signature sig9c data | grep -q "Verified OK" || fail "9c signature"

step "piv-tool reads the CHUID"
out=$(piv-tool -r "certkey token1 00 00" -s 00:CB:3F:FF:05:5C:03:5F:C1:02:00 2>&1) || fail "piv-tool"
grep -q "SW1=0x90, SW2=0x00" <<<"$out" || { echo "$out"; fail "CHUID read status"; }
grep -qi "53 3B 30 19 D4 E7 39 DA" <<<"$out" || { echo "$out"; fail "CHUID content (FASC-N)"; }
expect_output "Personal Identity Verification Card" piv-tool -r "certkey token1 00 00" -n
echo "opensc: all checks passed"
