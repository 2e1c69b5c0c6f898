#!/usr/bin/env bash
# An SD KEY pulled in the middle of reading a response: the host gets a clean
# error, and the token's state is whole, never half-written.
source "$(dirname "$0")/lib.sh"
P=(pkcs11-tool --module "$CERTKEY_MODULE")
SIM=("$CERTKEY_BUILD/agent/sim/certkey-sim" ctl --control "$CERTKEY_SIM_CONTROL")
WAIT=("$CERTKEY_BUILD/tests/harness/pcsc-wait" --timeout 30)

step "a first certificate in 9d"
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
  -subj "/CN=before the tear" -days 10 -outform DER -out old.der 2>/dev/null
expect_output "Created certificate" "${P[@]}" --login --pin 123456 --write-object old.der --type cert --id 03
big_certificate new.der

step "replace it, and pull the card while the host reads the answer to PUT DATA"
expect_output "ok" "${SIM[@]}" tear token1 DB
expect_failure "" "${P[@]}" --login --pin 123456 --write-object new.der --type cert --id 03
"${WAIT[@]}" --reader "certkey token1 00 00" --absent || fail "the card is still there"
expect_failure "Failed to connect" yubico-piv-tool -r token1 -a status

step "plugged in again: the certificate is one of the two, whole"
expect_output "ok" "${SIM[@]}" insert token1
"${WAIT[@]}" --reader "certkey token1 00 00" --present || fail "the card did not come back"
"${P[@]}" --read-object --type cert --id 03 -o after.der >/dev/null 2>&1 || fail "read the certificate"
# The token finished the write before it answered, so the new certificate is there.
cmp new.der after.der || fail "the certificate is not the complete new one"
expect_output "PIN tries left:	3" yubico-piv-tool -r token1 -a status
echo "sdkey_torn: all checks passed"
