#!/usr/bin/env bash
# verify-renewal-authorization.sh JWS_FILE CSR_FILE CERTIFICATE_FILE
#
# What a CA checks before it issues a renewed certificate, with the openssl command line and
# jq only (docs/daemon.md, "The renewal authorization"): the JWS that certkeyd's beginRenewal
# returns (JWS_FILE) carries the certificate being renewed in x5c (it must be the one the CA
# issued, CERTIFICATE_FILE, PEM), is signed by that certificate's key, and binds the request
# (CSR_FILE, PEM) by its SHA-256. Prints the payload (renewal id, origin, time) when all hold;
# exits non-zero otherwise. The CA then checks the origin and the time against its own
# records.
set -euo pipefail
jws=$(realpath "$1") csr=$(realpath "$2") certificate=$(realpath "$3")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

# base64url without padding (RFC 7515 section 2) to bytes.
b64url_decode() {
  local s=${1//-/+}
  s=${s//_//}
  while (( ${#s} % 4 )); do s+="="; done
  printf %s "$s" | openssl base64 -d -A
}

IFS=. read -r header payload signature <<<"$(cat "$jws")"
b64url_decode "$header" > header.json
b64url_decode "$payload" > payload.json
b64url_decode "$signature" > signature.raw

# 1. x5c[0] (standard base64 DER) is the certificate being renewed.
jq -r '.x5c[0]' header.json | openssl base64 -d -A > x5c.der
openssl x509 -in "$certificate" -outform DER -out expected.der
cmp -s x5c.der expected.der || { echo "x5c is not the certificate being renewed" >&2; exit 1; }

# 2. The signature over "header.payload" verifies with that certificate's key. JOSE's ECDSA
#    signature is r || s; openssl wants the DER SEQUENCE of the two INTEGERs.
printf %s "$header.$payload" > signing-input
alg=$(jq -r .alg header.json)
case $alg in
  ES256 | ES384)
    half=$(( $(stat -c %s signature.raw) / 2 ))
    r=$(head -c "$half" signature.raw | od -An -v -tx1 | tr -d ' \n')
    s=$(tail -c "$half" signature.raw | od -An -v -tx1 | tr -d ' \n')
    printf 'asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x%s\ns=INTEGER:0x%s\n' "$r" "$s" > signature.cnf
    openssl asn1parse -genconf signature.cnf -out signature.der -noout
    digest=-sha${alg#ES} ;;
  RS256) cp signature.raw signature.der; digest=-sha256 ;;
  *) echo "unexpected alg $alg" >&2; exit 1 ;;
esac
openssl x509 -inform DER -in x5c.der -pubkey -noout > public.pem
openssl dgst "$digest" -verify public.pem -signature signature.der signing-input >/dev/null ||
  { echo "the signature does not verify" >&2; exit 1; }

# 3. The payload binds the request: base64url of the SHA-256 of its DER.
want=$(openssl req -in "$csr" -outform DER | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '=')
[[ $(jq -r .csr_sha256 payload.json) == "$want" ]] || { echo "csr_sha256 is not this request's" >&2; exit 1; }

jq -c . payload.json
