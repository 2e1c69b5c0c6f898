#!/usr/bin/env bash
# Tokens are removed and inserted at run time through certkey-sim's control socket, and pcscd
# sees it: a removed token is gone for the peer tools, the other token is not
# disturbed, and a re-inserted token comes back with its state.
source "$(dirname "$0")/lib.sh"
SIM=("$CERTKEY_BUILD/agent/sim/certkey-sim" ctl --control "$CERTKEY_SIM_CONTROL")
WAIT=("$CERTKEY_BUILD/tests/harness/pcsc-wait" --timeout 30)

step "both tokens present"
expect_output "token1:inserted token2:inserted" "${SIM[@]}" list
serial1=$(yubico-piv-tool -r token1 -a status | awk -F'\t' '/Serial Number/ {print $2}')
expect_failure "2 tries left" yubico-piv-tool -r token1 -a verify-pin -P 000000

step "remove token1: pcscd reports it absent, token2 still answers"
expect_output "ok" "${SIM[@]}" remove token1
"${WAIT[@]}" --reader "certkey token1 00 00" --absent || fail "token1 still present"
expect_failure "Failed to connect" yubico-piv-tool -r token1 -a status
expect_output "PIN tries left:	3" yubico-piv-tool -r token2 -a status

step "insert token1 again: same serial, same PIN counter"
expect_output "ok" "${SIM[@]}" insert token1
"${WAIT[@]}" --reader "certkey token1 00 00" --present || fail "token1 did not come back"
expect_output "Serial Number:	$serial1" yubico-piv-tool -r token1 -a status
expect_output "PIN tries left:	2" yubico-piv-tool -r token1 -a status

step "bad control commands get clear errors"
expect_failure "unknown token 'token9'" "${SIM[@]}" remove token9
expect_failure "unknown command 'explode'" "${SIM[@]}" explode token1
echo "hotplug: all checks passed"
