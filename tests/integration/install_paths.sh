#!/usr/bin/env bash
# The installed module has one path, and everything that names it agrees (docs/pkcs11.md,
# "Where the module is installed"): cmake --install puts libcertkey-pkcs11.so in
# ${CMAKE_INSTALL_LIBDIR}/pkcs11/, and the p11-kit file, certkey-register-nss and certkeyd's
# default --module all name that file.
set -euo pipefail
build=${CERTKEY_BUILD:?}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR=$stage cmake --install "$build" >/dev/null
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
installed=$(cd "$stage" && find . -name libcertkey-pkcs11.so | sed 's|^\.||')
[[ -n $installed ]] || fail "no module installed"
[[ $installed == "$prefix"/*/pkcs11/libcertkey-pkcs11.so || $installed == "$prefix"/lib/pkcs11/libcertkey-pkcs11.so ]] ||
  fail "the module is at $installed, not in a pkcs11/ directory under $prefix"

p11kit=$(sed -n 's/^module: //p' "$stage$prefix/share/p11-kit/modules/certkey.module")
[[ $p11kit == "$installed" ]] || fail "certkey.module names $p11kit"
register=$(sed -n 's/^module=//p' "$stage$prefix/bin/certkey-register-nss")
[[ $register == "$installed" ]] || fail "certkey-register-nss defaults to $register"
daemon=$("$stage$prefix/bin/certkeyd" --help | sed -n 's/.*--module PATH .*(default \(.*\))$/\1/p')
[[ $daemon == "$installed" ]] || fail "certkeyd defaults to '$daemon'"
echo "install_paths: the module, the p11-kit file, register-nss and certkeyd agree on $installed"

# certkeyd's user units start the installed daemon, and its sandbox scores 3.0 or lower in
# systemd's own exposure analysis (which needs a runtime directory, not a running systemd).
units=$stage$prefix/lib/systemd/user
for unit in certkeyd.service certkeyd.socket certkeyd-ipv6.socket; do
  [[ -f $units/$unit ]] || fail "$unit not installed in $prefix/lib/systemd/user"
done
exec_start=$(sed -n 's/^ExecStart=//p' "$units/certkeyd.service")
[[ $exec_start == "$prefix/bin/certkeyd" ]] || fail "certkeyd.service starts $exec_start"
runtime=$(mktemp -d)
exposure=$(XDG_RUNTIME_DIR=$runtime systemd-analyze --user security --offline=true \
  "$units/certkeyd.service" 2>&1 | sed -n 's/.*Overall exposure level for certkeyd.service: \([0-9.]*\).*/\1/p')
rm -rf "$runtime"
[[ -n $exposure ]] || fail "systemd-analyze gave no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 3.0) }' || fail "certkeyd.service's exposure is $exposure, above 3.0"
echo "install_paths: the user units start $exec_start; exposure $exposure"
