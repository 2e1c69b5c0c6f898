#!/usr/bin/env bash
# certkeyd's API over real HTTP against a token through pcscd: the request guard (Host,
# Origin, JSON and the request header, size limits, CORS and Local Network Access
# preflights), the errors, and a renewal with its failure cases, including a daemon restart
# between the two halves. Every response is checked against daemon/openapi/certkey-v1.json.
source "$(dirname "$0")/lib.sh"
P=(pkcs11-tool --module "$CERTKEY_MODULE")
SPEC=$CERTKEY_ROOT/daemon/openapi/certkey-v1.json
CHECK=$CERTKEY_BUILD/tests/harness/openapi-check
PORTAL=https://portal.example OTHER=https://other.example

# call PATH_TEMPLATE METHOD STATUS CURL_ARGS...: makes the request, requires the status and a
# body that conforms to the spec; the body is left in body.json, the headers in headers.txt.
call() {
  local template=$1 method=$2 want=$3; shift 3
  local status
  status=$("$@" -o body.json -D headers.txt -w '%{http_code}') || fail "curl $*"
  [[ $status == "$want" ]] || { cat body.json >&2; fail "$method $template: status $status, wanted $want"; }
  [[ $want == 204 ]] && return 0
  "$CHECK" "$SPEC" "$template" "$method" "$status" body.json || { cat body.json >&2; fail "$method $template: not as documented"; }
}
error_is() { [[ $(jq -r .error.code body.json) == "$1" ]] || { cat body.json >&2; fail "error $(jq -r .error.code body.json), wanted $1"; }; }
no_cors() { ! grep -qi '^access-control-allow-origin' headers.txt || { cat headers.txt >&2; fail "CORS headers for a refused request"; }; }

start_daemon "$PORTAL" "$OTHER"
serial=$(token_serial "USB KEY")
BASE=(env -u LD_PRELOAD curl -sS)

step "an allowed origin lists the tokens; CORS echoes that origin, never *"
call /v1/tokens get 200 "${API[@]}" "$DAEMON_URL/v1/tokens"
grep -qi "^access-control-allow-origin: $PORTAL" headers.txt || fail "origin not echoed"
grep -qi '^vary: origin' headers.txt || fail "no Vary: Origin"
[[ $(jq -r '.tokens[0].medium' body.json) == usbkey ]] || fail "medium"

step "the guard: Host, Origin, JSON and the request header"
call /v1/tokens get 403 "${BASE[@]}" -H "Host: evil.example:$DAEMON_PORT" -H "Origin: $PORTAL" "$DAEMON_URL/v1/tokens"
error_is bad_host
# A well-formed origin may read the refusal of its GET (the JS client's "origin not allowed"),
# and nothing else: its POSTs and preflights stay unreadable, as do "null" and no origin.
call /v1/tokens get 403 "${BASE[@]}" -H "Origin: https://evil.example" "$DAEMON_URL/v1/tokens"
error_is origin_not_allowed
grep -qi '^access-control-allow-origin: https://evil.example' headers.txt || fail "the refusal is not readable by its page"
[[ $(jq 'keys' -c body.json) == '["error"]' ]] || fail "a refused origin reads more than the error"
call /v1/renewals post 403 "${BASE[@]}" -H "Origin: https://evil.example" -H "X-Certkey-Request: 1" \
  -H "Content-Type: application/json" -d '{}' "$DAEMON_URL/v1/renewals"
error_is origin_not_allowed; no_cors
call /v1/tokens get 403 "${BASE[@]}" "$DAEMON_URL/v1/tokens"
error_is origin_not_allowed; no_cors
call /v1/tokens get 403 "${BASE[@]}" -H "Origin: null" "$DAEMON_URL/v1/tokens"
error_is origin_not_allowed; no_cors
call /v1/renewals post 415 "${BASE[@]}" -H "Origin: $PORTAL" -H "X-Certkey-Request: 1" -H "Content-Type: text/plain" \
  -d '{}' "$DAEMON_URL/v1/renewals"
error_is unsupported_media_type
call /v1/renewals post 403 "${BASE[@]}" -H "Origin: $PORTAL" -H "Content-Type: application/json" -d '{}' \
  "$DAEMON_URL/v1/renewals"
error_is missing_request_header
head -c 70000 /dev/zero | tr '\0' 'a' > big.txt
call /v1/renewals post 413 "${API[@]}" --data-binary @big.txt "$DAEMON_URL/v1/renewals"
error_is payload_too_large

step "CORS preflight, with Chrome's Local Network Access"
call /v1/renewals options 204 "${BASE[@]}" -X OPTIONS -H "Origin: $PORTAL" -H "Access-Control-Request-Method: POST" \
  -H "Access-Control-Request-Headers: content-type,x-certkey-request" -H "Access-Control-Request-Private-Network: true" \
  "$DAEMON_URL/v1/renewals"
grep -qi "^access-control-allow-origin: $PORTAL" headers.txt || fail "preflight origin"
grep -qi '^access-control-allow-headers:.*X-Certkey-Request' headers.txt || fail "preflight headers"
grep -qi '^access-control-allow-private-network: true' headers.txt || fail "Local Network Access"

step "errors for bad requests"
call '#error' get 404 "${API[@]}" "$DAEMON_URL/v1/nothing"; error_is not_found
call '#error' post 405 "${API[@]}" -X POST -d '{}' "$DAEMON_URL/v1/tokens"; error_is method_not_allowed
call /v1/renewals post 400 "${API[@]}" -d 'not json' "$DAEMON_URL/v1/renewals"; error_is bad_request
call /v1/renewals post 403 "${API[@]}" -d "{\"token\": $serial, \"certificate\": \"01\", \"pin\": \"123456\"}" \
  "$DAEMON_URL/v1/renewals"; error_is pin_not_accepted
call /v1/renewals post 400 "${API[@]}" -d '{"token": "x", "certificate": "01"}' "$DAEMON_URL/v1/renewals"; error_is bad_request
call /v1/renewals post 404 "${API[@]}" -d '{"token": 1, "certificate": "01"}' "$DAEMON_URL/v1/renewals"; error_is token_not_found
call /v1/renewals post 404 "${API[@]}" -d "{\"token\": $serial, \"certificate\": \"01\"}" "$DAEMON_URL/v1/renewals"
error_is certificate_not_found

step "a certificate to renew in 9a: a key made on the token, a request it signs, a CA's certificate"
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj "/CN=certkey test CA" \
  -days 30 -out ca.pem 2>/dev/null
"${P[@]}" --login --pin 123456 --keypairgen --key-type EC:prime256v1 --id 01 >/dev/null 2>&1 || fail "first key"
OPENSSL_CONF=$(engine_config "$CERTKEY_MODULE") openssl req -new -subj "/CN=api holder" -engine pkcs11 -keyform engine \
  -key "pkcs11:serial=$serial;id=%01;type=private" -passin pass:123456 -out first.csr >/dev/null 2>&1 || fail "first CSR"
openssl x509 -req -in first.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 10 -outform DER -out first.der 2>/dev/null
"${P[@]}" --login --pin 123456 --write-object first.der --type cert --id 01 >/dev/null 2>&1 || fail "first certificate"
stop_daemon
DAEMON_TRUST=ca.pem start_daemon "$PORTAL" "$OTHER"

step "the PIN comes from the trusted prompt: cancelled, wrong"
echo cancel > "$workdir/answers"
call /v1/renewals post 409 "${API[@]}" -d "{\"token\": $serial, \"certificate\": \"01\"}" "$DAEMON_URL/v1/renewals"
error_is pin_cancelled
echo pin:000000 > "$workdir/answers"
call /v1/renewals post 409 "${API[@]}" -d "{\"token\": $serial, \"certificate\": \"01\"}" "$DAEMON_URL/v1/renewals"
error_is pin_incorrect
echo pin:123456 > "$workdir/answers"

step "begin a renewal; only its origin sees it"
call /v1/renewals post 201 "${API[@]}" -d "{\"token\": $serial, \"certificate\": \"01\"}" "$DAEMON_URL/v1/renewals"
id=$(jq -r .renewal.id body.json)
jq -r .renewal.csr body.json > renew.csr
call '/v1/renewals/{id}' get 200 "${API[@]}" "$DAEMON_URL/v1/renewals/$id"
call '/v1/renewals/{id}' get 404 "${BASE[@]}" -H "Origin: $OTHER" "$DAEMON_URL/v1/renewals/$id"; error_is renewal_not_found

step "a second renewal of the same certificate is refused while the first is in progress"
call /v1/renewals post 409 "${API[@]}" -d "{\"token\": $serial, \"certificate\": \"01\"}" "$DAEMON_URL/v1/renewals"
error_is renewal_in_progress

step "the daemon restarts between the two halves; the renewal is still there, and listed"
stop_daemon
DAEMON_TRUST=ca.pem start_daemon "$PORTAL" "$OTHER"
call '/v1/renewals/{id}' get 200 "${API[@]}" "$DAEMON_URL/v1/renewals/$id"
call /v1/renewals get 200 "${API[@]}" "$DAEMON_URL/v1/renewals"
[[ $(jq -r '.renewals[0].id' body.json) == "$id" && $(jq -r '.renewals[0].state' body.json) == awaiting_certificate ]] ||
  fail "listRenewals"
call /v1/renewals get 200 "${BASE[@]}" -H "Origin: $OTHER" "$DAEMON_URL/v1/renewals"
[[ $(jq '.renewals | length' body.json) == 0 ]] || fail "another origin sees the renewal"

step "a certificate for another key is refused; the right one completes the renewal"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null -subj "/CN=api holder" \
  -out wrong.csr 2>/dev/null
openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -set_serial 7 -days 30 -out wrong.pem 2>/dev/null
jq -n --rawfile c wrong.pem '{certificate: $c}' > wrong.json
call '/v1/renewals/{id}/complete' post 409 "${API[@]}" --data-binary @wrong.json "$DAEMON_URL/v1/renewals/$id/complete"
error_is certificate_mismatch
openssl x509 -req -in renew.csr -CA ca.pem -CAkey ca.key -set_serial 8 -days 60 -out renewed.pem 2>/dev/null
jq -n --rawfile c renewed.pem '{certificate: $c}' > right.json
call '/v1/renewals/{id}/complete' post 200 "${API[@]}" --data-binary @right.json "$DAEMON_URL/v1/renewals/$id/complete"
key=$(jq -r .renewal.key body.json)
[[ $(jq -r .renewal.state body.json) == current ]] || fail "the renewed certificate is not current"
call '/v1/renewals/{id}/complete' post 404 "${API[@]}" --data-binary @right.json "$DAEMON_URL/v1/renewals/$id/complete"
error_is renewal_not_found
call /v1/tokens get 200 "${API[@]}" "$DAEMON_URL/v1/tokens"
# The renewed certificate where the old one was (01), the old one in the retired slot.
jq -e --arg k "$key" '.tokens[0].certificates | (map(select(.id == "01"))[0].serial_number == "08") and
  (map(select(.id == $k))[0].serial_number == "01")' body.json >/dev/null || { cat body.json; fail "old and new certificate"; }
grep -q "renew the certificate" "$SCRIPTED_PINENTRY_LOG" || fail "no trusted prompt"
! grep -q 123456 "$workdir/daemon.log" || fail "the PIN reached the daemon's log"
echo "daemon_api: all checks passed"
