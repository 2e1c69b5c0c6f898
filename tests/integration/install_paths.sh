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
