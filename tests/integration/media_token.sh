#!/usr/bin/env bash
# One USB KEY or SD KEY, reached through our pcscd driver for its medium: the
# peer tools and both PKCS#11 modules work on it, a 4 KiB certificate and an RSA-2048 key
# generation go through its transport (the USB KEY sends keep-alives meanwhile, the SD KEY
# shows its busy marker), and it can be pulled and plugged in again.
#   media_token.sh usbkey|sdkey      (run inside with-tokens --media usbkey|sdkey)
source "$(dirname "$0")/lib.sh"
medium=$1
case $medium in
  usbkey) model="USB KEY" waited=keepalives ;;
  sdkey) model="SD KEY" waited=busy ;;
  *) fail "usage: media_token.sh usbkey|sdkey" ;;
esac
P=(pkcs11-tool --module "$CERTKEY_MODULE")
O=(pkcs11-tool --module "$OPENSC_MODULE")
SIM=("$CERTKEY_BUILD/agent/sim/certkey-sim" ctl --control "$CERTKEY_SIM_CONTROL")
WAIT=("$CERTKEY_BUILD/tests/harness/pcsc-wait" --timeout 30)
# stat_of NAME: one counter of the simulator's stats for token1.
stat_of() { "${SIM[@]}" stats token1 | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }

step "the token is a $model behind the certkey driver"
expect_output "token model        : $model" "${P[@]}" --list-token-slots
expect_output "PIN tries left:	3" yubico-piv-tool -r token1 -a status

step "yubico-piv-tool provisions 9a; OpenSC's module lists it and signs"
provision_slot token1 9a ECCP256 "certkey $medium 9a"
expect_output "subject:    DN: CN=certkey $medium 9a" "${O[@]}" --list-objects --type cert
echo "sign me" > data
openssl dgst -sha256 -binary data > digest
"${O[@]}" --login --pin 123456 --sign --id 01 -m ECDSA --signature-format openssl -i digest -o sig-opensc \
  >/dev/null 2>&1 || fail "OpenSC sign"
openssl pkeyutl -verify -pubin -inkey pub9a.pem -in digest -sigfile sig-opensc | grep -q "Verified Successfully" ||
  fail "OpenSC's signature does not verify"

step "libcertkey-pkcs11 signs with 9a"
"${P[@]}" --login --pin 123456 --sign --id 01 -m ECDSA --signature-format openssl -i digest -o sig-certkey \
  >/dev/null 2>&1 || fail "certkey sign"
openssl pkeyutl -verify -pubin -inkey pub9a.pem -in digest -sigfile sig-certkey | grep -q "Verified Successfully" ||
  fail "certkey's signature does not verify"

step "a 4 KiB certificate is written and read back intact"
big_certificate big.der
expect_output "Created certificate" "${P[@]}" --login --pin 123456 --write-object big.der --type cert --id 03
"${P[@]}" --read-object --type cert --id 03 -o big-read.der >/dev/null 2>&1 || fail "read the certificate back"
cmp big.der big-read.der || fail "the certificate read back differs"

step "RSA-2048 key generation; the token says it is still working meanwhile ($waited)"
before=$(stat_of "$waited")
expect_output "Key pair generated" "${P[@]}" --login --pin 123456 --keypairgen --key-type rsa:2048 --id 02
after=$(stat_of "$waited")
((after > before)) || fail "no $waited during RSA key generation ($before before, $after after)"
GNUTLS_PIN=123456 p11tool --provider "$CERTKEY_MODULE" --login --export-pubkey "pkcs11:id=%02;type=public" \
  --outfile pub9c.pem >/dev/null 2>&1 || fail "read the RSA public key"
"${P[@]}" --login --pin 123456 --sign --id 02 -m SHA256-RSA-PKCS -i data -o sig9c >/dev/null 2>&1 || fail "RSA sign"
openssl dgst -sha256 -verify pub9c.pem -signature sig9c data | grep -q "Verified OK" || fail "RSA signature"

step "pulled: the reader is empty; plugged in again: same keys and certificate"
expect_output "ok" "${SIM[@]}" remove token1
"${WAIT[@]}" --reader "certkey token1 00 00" --absent || fail "token1 still present"
expect_failure "Failed to connect" yubico-piv-tool -r token1 -a status
expect_output "ok" "${SIM[@]}" insert token1
"${WAIT[@]}" --reader "certkey token1 00 00" --present || fail "token1 did not come back"
"${P[@]}" --read-object --type cert --id 03 -o big-again.der >/dev/null 2>&1 || fail "read after re-insertion"
cmp big.der big-again.der || fail "the certificate changed"
"${P[@]}" --login --pin 123456 --sign --id 01 -m ECDSA --signature-format openssl -i digest -o sig-again \
  >/dev/null 2>&1 || fail "sign after re-insertion"
openssl pkeyutl -verify -pubin -inkey pub9a.pem -in digest -sigfile sig-again | grep -q "Verified Successfully" ||
  fail "signature after re-insertion"
echo "$medium: all checks passed"
