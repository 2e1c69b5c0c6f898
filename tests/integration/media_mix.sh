#!/usr/bin/env bash
# A USB KEY, an SD KEY and a SIM at once (issue 4), each through its own path (our HID
# driver, our command-file driver, a vpcd reader with a logical channel): the module lists
# three tokens with their media, a certificate renewal (new key on the token, CSR signed by
# the token's key, certificate issued by a CA and written back) works on each, and pulling
# one leaves the other two working.
source "$(dirname "$0")/lib.sh"
P=(pkcs11-tool --module "$CERTKEY_MODULE")
SIM=("$CERTKEY_BUILD/agent/sim/certkey-sim" ctl --control "$CERTKEY_SIM_CONTROL")
WAIT=("$CERTKEY_BUILD/tests/harness/pcsc-wait" --timeout 30)
ENGINE_CONF=$(engine_config "$CERTKEY_MODULE")

step "three tokens, three media"
declare -A serial
for model in "USB KEY" "SD KEY" "SIM"; do
  serial[$model]=$(token_serial "$model")
  [[ -n ${serial[$model]} ]] || { "${P[@]}" --list-token-slots; fail "no $model token listed"; }
done

step "a CA for the renewals"
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj "/CN=certkey test CA" \
  -days 30 -out ca.pem 2>/dev/null

# renew MODEL: a new P-256 key in 9a, a CSR signed with it on the token, the CA's certificate
# for it written back to the token.
renew() {
  local model=$1 s=${serial[$1]} tag=${1// /}
  local token=(--token-label "certkey $s")
  expect_output "Key pair generated" "${P[@]}" "${token[@]}" --login --pin 123456 --keypairgen \
    --key-type EC:prime256v1 --id 01
  OPENSSL_CONF=$ENGINE_CONF openssl req -new -subj "/CN=renewed $model $s" -engine pkcs11 -keyform engine \
    -key "pkcs11:serial=$s;id=%01;type=private" -passin pass:123456 -out "req-$tag.pem" >/dev/null 2>&1 ||
    fail "CSR on the $model"
  openssl req -verify -noout -in "req-$tag.pem" 2>&1 | grep -q "verify OK" || fail "the $model's CSR signature"
  openssl x509 -req -in "req-$tag.pem" -CA ca.pem -CAkey ca.key -set_serial "0x$s" -days 30 -outform DER \
    -out "cert-$tag.der" 2>/dev/null || fail "issue for the $model"
  expect_output "Created certificate" "${P[@]}" "${token[@]}" --login --pin 123456 --write-object "cert-$tag.der" \
    --type cert --id 01
  expect_output "subject:    DN: CN=renewed $model $s" "${P[@]}" "${token[@]}" --list-objects --type cert
  openssl x509 -inform DER -in "cert-$tag.der" -pubkey -noout > "pub-$tag.pem"
}

# signs MODEL: the token's renewed key signs, and the signature verifies with its certificate.
signs() {
  local s=${serial[$1]} tag=${1// /}
  echo "signed on the $1" > "data-$tag"
  openssl dgst -sha256 -binary "data-$tag" > "digest-$tag"
  "${P[@]}" --token-label "certkey $s" --login --pin 123456 --sign --id 01 -m ECDSA --signature-format openssl \
    -i "digest-$tag" -o "sig-$tag" >/dev/null 2>&1 || fail "sign on the $1"
  openssl pkeyutl -verify -pubin -inkey "pub-$tag.pem" -in "digest-$tag" -sigfile "sig-$tag" |
    grep -q "Verified Successfully" || fail "the $1's signature"
}

for model in "USB KEY" "SD KEY" "SIM"; do
  step "renew the certificate on the $model (token ${serial[$model]})"
  renew "$model"
  signs "$model"
done

sd_reader=$(pkcs11-tool --module "$CERTKEY_MODULE" --list-token-slots | awk '/^Slot/ { r = $0 } /token model *: SD KEY/ { print r }' |
  sed 's/^Slot [0-9]* ([^)]*): //')
step "pull the SD KEY ($sd_reader): the USB KEY and the SIM go on"
expect_output "ok" "${SIM[@]}" remove "$(awk '{ print $2 }' <<<"$sd_reader")"
"${WAIT[@]}" --reader "$sd_reader" --absent || fail "the SD KEY is still there"
out=$("${P[@]}" --list-token-slots)
grep -q "SD KEY" <<<"$out" && { echo "$out"; fail "the SD KEY is still listed"; }
signs "USB KEY"
signs "SIM"
echo "media_mix: all checks passed"
