#!/usr/bin/env bash
# The module's trusted prompt: with a pinentry configured, tokens announce
# CKF_PROTECTED_AUTHENTICATION_PATH and C_Login without a PIN asks the pinentry, which is
# told which reader wants the PIN; cancelling fails the login.
source "$(dirname "$0")/lib.sh"
printf 'pinentry = %s\n' "$CERTKEY_ROOT/tests/harness/scripted-pinentry" > pkcs11.conf
export CERTKEY_PKCS11_CONF=$workdir/pkcs11.conf SCRIPTED_PINENTRY_LOG=$workdir/prompts.log
export SCRIPTED_PINENTRY_ANSWERS=$workdir/answers
P=(pkcs11-tool --module "$CERTKEY_MODULE")

step "the token announces a protected authentication path"
expect_output "PIN pad present" "${P[@]}" --list-token-slots

step "C_Login with no PIN asks the pinentry; the key is generated and used"
echo pin:123456 > answers
expect_output "Key pair generated" "${P[@]}" --login --keypairgen --key-type EC:prime256v1 --id 01
echo "signed through the prompt" > data
"${P[@]}" --login --sign --id 01 -m ECDSA-SHA256 -i data -o sig >/dev/null 2>&1 || fail "sign via pinentry"
grep -q 'reader "certkey token1 00 00" to log in' prompts.log || { cat prompts.log; fail "prompt did not name the reader"; }

step "a wrong PIN from the prompt counts as a wrong PIN; cancelling fails the login"
echo pin:000000 > answers
expect_failure "CKR_PIN_INCORRECT" "${P[@]}" --login --list-objects
echo cancel > answers
expect_failure "CKR_FUNCTION_CANCELED" "${P[@]}" --login --list-objects
echo "pinentry: all checks passed"
