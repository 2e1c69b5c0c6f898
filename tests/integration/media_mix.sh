#!/usr/bin/env bash
# A USB KEY, an SD KEY and a SIM at once, each through its own path (our HID
# driver, our command-file driver, a vpcd reader with a logical channel): certkeyd lists
# three tokens with their media, a certificate renewal through its API (a new key on the
# token, a CSR signed on the token, the CA's certificate written back) works on each, and
# pulling one leaves the other two working.
source "$(dirname "$0")/lib.sh"
P=(pkcs11-tool --module "$CERTKEY_MODULE")
SIM=("$CERTKEY_BUILD/agent/sim/certkey-sim" ctl --control "$CERTKEY_SIM_CONTROL")
PORTAL=https://portal.example

step "a CA, and a certificate it issued in 9a of each token"
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj "/CN=certkey test CA" \
  -days 30 -out ca.pem 2>/dev/null
ENGINE_CONF=$(engine_config "$CERTKEY_MODULE")
declare -A serial
for model in "USB KEY" "SD KEY" "SIM"; do
  s=$(token_serial "$model")
  [[ -n $s ]] || { "${P[@]}" --list-token-slots; fail "no $model token listed"; }
  serial[$model]=$s
  "${P[@]}" --token-label "certkey $s" --login --pin 123456 --keypairgen --key-type EC:prime256v1 --id 01 >/dev/null 2>&1 ||
    fail "key on the $model"
  OPENSSL_CONF=$ENGINE_CONF openssl req -new -subj "/CN=holder $s/O=certkey test" -engine pkcs11 -keyform engine \
    -key "pkcs11:serial=$s;id=%01;type=private" -passin pass:123456 -out "first-$s.csr" >/dev/null 2>&1 || fail "CSR"
  openssl x509 -req -in "first-$s.csr" -CA ca.pem -CAkey ca.key -set_serial 1 -days 30 -outform DER \
    -out "first-$s.der" 2>/dev/null
  "${P[@]}" --token-label "certkey $s" --login --pin 123456 --write-object "first-$s.der" --type cert --id 01 \
    >/dev/null 2>&1 || fail "first certificate on the $model"
done

DAEMON_TRUST=ca.pem start_daemon "$PORTAL"

step "certkeyd lists three tokens with their media"
"${API[@]}" "$DAEMON_URL/v1/tokens" > tokens.json
for pair in "USB KEY:usbkey" "SD KEY:sdkey" "SIM:sim"; do
  model=${pair%%:*} medium=${pair##*:}
  got=$(jq -r --argjson s "${serial[$model]}" '.tokens[] | select(.serial == $s) | .medium' tokens.json)
  [[ $got == "$medium" ]] || { cat tokens.json; fail "token ${serial[$model]} is '$got', not $medium"; }
done
[[ $(jq '.tokens | length' tokens.json) == 3 ]] || { cat tokens.json; fail "not three tokens"; }

# renew MODEL: renewal through the API: begin (the daemon makes the key and the CSR on the
# token; the PIN comes from the trusted prompt), the CA issues, complete (the daemon writes
# and reads back the certificate, and makes it current in 01). Leaves the retired slot, where
# the old key and certificate now wait, in RENEWED_KEY.
renew() {
  local s=${serial[$1]}
  "${API[@]}" -X POST -d "{\"token\": $s, \"certificate\": \"01\"}" "$DAEMON_URL/v1/renewals" > begin.json
  local id csr
  id=$(jq -r '.renewal.id // empty' begin.json)
  [[ -n $id ]] || { cat begin.json; fail "renewal did not begin on the $1"; }
  jq -r '.renewal.csr' begin.json > "renew-$s.csr"
  openssl req -in "renew-$s.csr" -verify -noout 2>&1 | grep -q "verify OK" || fail "the $1's CSR signature"
  openssl req -in "renew-$s.csr" -noout -subject | grep -q "CN = holder $s" || fail "the CSR lost the subject"
  openssl x509 -req -in "renew-$s.csr" -CA ca.pem -CAkey ca.key -set_serial "$RANDOM" -days 60 -out "renewed-$s.pem" \
    2>/dev/null
  jq -n --rawfile c "renewed-$s.pem" '{certificate: $c}' > complete.json
  "${API[@]}" -X POST --data-binary @complete.json "$DAEMON_URL/v1/renewals/$id/complete" > done.json
  RENEWED_KEY=$(jq -r '.renewal.key // empty' done.json)
  [[ -n $RENEWED_KEY ]] || { cat done.json; fail "renewal did not complete on the $1"; }
  # Both certificates are on the token now: the renewed one in 01, the old one retired.
  "${API[@]}" "$DAEMON_URL/v1/tokens" > after.json
  jq -e --argjson s "$s" --arg k "$RENEWED_KEY" \
    '.tokens[] | select(.serial == $s) | [.certificates[].id] | index("01") != null and index($k) != null' \
    after.json >/dev/null || { cat after.json; fail "the $1 does not list the old and the new certificate"; }
}

# signs MODEL ID: the key with ID signs, and the signature verifies with its certificate.
signs() {
  local s=${serial[$1]}
  echo "signed on the $1" > "data-$s"
  openssl dgst -sha256 -binary "data-$s" > "digest-$s"
  "${P[@]}" --token-label "certkey $s" --login --pin 123456 --sign --id "$2" -m ECDSA --signature-format openssl \
    -i "digest-$s" -o "sig-$s" >/dev/null 2>&1 || fail "sign on the $1"
  openssl x509 -in "renewed-$s.pem" -pubkey -noout > "pub-$s.pem"
  openssl pkeyutl -verify -pubin -inkey "pub-$s.pem" -in "digest-$s" -sigfile "sig-$s" |
    grep -q "Verified Successfully" || fail "the $1's signature with its renewed key"
}

for model in "USB KEY" "SD KEY" "SIM"; do
  step "renew on the $model (token ${serial[$model]}) through certkeyd"
  renew "$model"
  signs "$model" 01
done
grep -q "renew the certificate" "$SCRIPTED_PINENTRY_LOG" || fail "the PIN was not asked through the trusted prompt"

sd_reader=$("${P[@]}" --list-token-slots | awk '/^Slot/ { r = $0 } /token model *: SD KEY/ { print r }' |
  sed 's/^Slot [0-9]* ([^)]*): //')
step "pull the SD KEY ($sd_reader): certkeyd lists two tokens, and renewal goes on for the others"
# The daemon's own event says it has seen the removal (pcscd saying so is not enough).
"$CERTKEY_BUILD/tests/harness/await-event" --socket "$workdir/certkeyd.sock" --event tokenRemoved \
  --serial "${serial[SD KEY]}" -- "${SIM[@]}" remove "$(awk '{ print $2 }' <<<"$sd_reader")" >/dev/null ||
  fail "certkeyd did not see the SD KEY go"
"${API[@]}" "$DAEMON_URL/v1/tokens" > tokens.json
[[ $(jq -r '[.tokens[].medium] | sort | join(",")' tokens.json) == "sim,usbkey" ]] || { cat tokens.json; fail "listing"; }
"${API[@]}" -X POST -d "{\"token\": ${serial[SD KEY]}, \"certificate\": \"01\"}" "$DAEMON_URL/v1/renewals" > gone.json
[[ $(jq -r '.error.code' gone.json) == token_not_found ]] || { cat gone.json; fail "renewal on the pulled SD KEY"; }
renew "USB KEY"
signs "USB KEY" 01
signs "SIM" 01
echo "media_mix: all checks passed"
