#!/usr/bin/env bash
# PIN and PUK retry counters: the PIN blocks after its limit, the PUK unblocks it,
# the PUK blocks after its own limit, and every counter survives a simulator restart (two
# separate harness runs on the same state directory).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
harness=$here/../harness/with-tokens
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT

"$harness" --state-dir "$state" -- bash -c '
  source "'"$here"'/lib.sh"
  Y=(yubico-piv-tool -r token1)
  step "one wrong PIN, then the simulator stops"
  expect_failure "2 tries left" "${Y[@]}" -a verify-pin -P 000000'

"$harness" --state-dir "$state" -- bash -c '
  source "'"$here"'/lib.sh"
  Y=(yubico-piv-tool -r token1)
  step "after a restart the PIN counter is still 2"
  expect_output "PIN tries left:	2" "${Y[@]}" -a status
  step "block the PIN; even the right PIN is refused"
  expect_failure "1 tries left" "${Y[@]}" -a verify-pin -P 000000
  expect_failure "blocked" "${Y[@]}" -a verify-pin -P 000000
  expect_failure "blocked" "${Y[@]}" -a verify-pin -P 123456
  expect_output "PIN tries left:	0" "${Y[@]}" -a status
  step "a wrong PUK costs a PUK try; the right PUK unblocks"
  expect_failure "2 tries left" "${Y[@]}" -a unblock-pin -P 00000000 -N 222222'

"$harness" --state-dir "$state" -- bash -c '
  source "'"$here"'/lib.sh"
  Y=(yubico-piv-tool -r token1)
  step "after a restart the PIN is still blocked and the PUK has 2 tries"
  expect_failure "blocked" "${Y[@]}" -a verify-pin -P 123456
  expect_output "Successfully unblocked" "${Y[@]}" -a unblock-pin -P 12345678 -N 222222
  expect_output "Successfully verified PIN" "${Y[@]}" -a verify-pin -P 222222
  step "block the PUK"
  expect_failure "2 tries left" "${Y[@]}" -a unblock-pin -P 00000000 -N 333333
  expect_failure "1 tries left" "${Y[@]}" -a unblock-pin -P 00000000 -N 333333
  expect_failure "blocked" "${Y[@]}" -a unblock-pin -P 00000000 -N 333333
  expect_failure "blocked" "${Y[@]}" -a unblock-pin -P 12345678 -N 333333'

"$harness" --state-dir "$state" -- bash -c '
  source "'"$here"'/lib.sh"
  Y=(yubico-piv-tool -r token1)
  step "after a restart the PUK is still blocked; the PIN still works"
  expect_failure "blocked" "${Y[@]}" -a unblock-pin -P 12345678 -N 333333
  expect_output "Successfully verified PIN" "${Y[@]}" -a verify-pin -P 222222'
echo "pin counters: all checks passed"
