#!/usr/bin/env bash
# One owner per protocol (DESIGN.md, STYLE.md §7): the token's status words and PIV tags are
# spelled only in certkey::protocol (agent/protocol) and its tests, and only the card library
# (pkcs11-module/card) calls PC/SC. Fails with every offending line.
#
# What counts as a literal, so that the check has no false alarms:
#  - a status word: 9000 or a 61xx..6Fxx value written as four hex digits, anywhere in the
#    firmware or the host;
#  - a PIV tag, in host code: a literal handed to a TLV codec call, compared as a tag, the
#    two-byte 7F49, or a byte list that opens with a PIV template tag. ASN.1's universal
#    tags (X.509 and SubjectPublicKeyInfo are not the token's protocol) are allowed.
# Tests and benchmarks may speak PC/SC directly: they stand outside the product as peers
# (a second process that resets the card, pcscd's own notification as a baseline).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
host=(drivers pkcs11-module daemon web-extension/native-host examples)
sources=(--include='*.cpp' --include='*.hpp' --include='*.h' --include='*.c')
failed=0

offenders() {  # title, then grep arguments; prints matches outside agent/protocol
  local title=$1
  shift
  local found
  found=$(grep -rnPI "${sources[@]}" "$@" | grep -v '^agent/protocol/')
  if [ -n "$found" ]; then
    echo "FAIL: $title"
    echo "$found" | sed 's/^/  /'
    failed=$((failed + 1))
  else
    echo "ok: $title"
  fi
}

offenders "status-word literals outside certkey::protocol" -i '\b0x(9000|6[1-9A-F][0-9A-F]{2})\b' agent "${host[@]}"

asn1='0x(02|03|04|05|06|30|31|A[0-3])\b'
offenders "PIV tag literals in TLV codec calls on the host" -i \
  "\b(put|put_header|put_u8|find_tlv|expect_single_tlv|append_tlv|tlv_value|tlv_header_size)\s*\((?:(?!$asn1)[^;])*\b0x[0-9A-F]{2,4}\b" \
  "${host[@]}"
offenders "PIV tag literals compared as tags on the host" -i "\b(tag|t)\s*[=!]=\s*(?!$asn1)0x[0-9A-F]{2,4}\b" "${host[@]}"
offenders "the public-key template tag spelled out on the host" -i '0x7F49\b|0x7F\s*,\s*0x49\b' "${host[@]}"
offenders "byte lists opening with a PIV template tag on the host" -i '[{(]\s*0x(7C|53|5C|70|71|7E|7F|88|89|AC)\s*,' "${host[@]}"
offenders "PC/SC calls outside the card library" '\bSCard[A-Z]\w*\s*\(' agent drivers daemon web-extension/native-host \
  examples pkcs11-module/src pkcs11-module/pinentry

echo "$failed failed"
[ "$failed" -eq 0 ]
