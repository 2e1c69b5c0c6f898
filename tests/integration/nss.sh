#!/usr/bin/env bash
# NSS with libcertkey-pkcs11.so: modutil registers the module, certutil lists the
# token's certificates, and tstclnt completes TLS client authentication with a token key
# against openssl s_server on loopback: ECDSA, and RSA (RSA-PSS under TLS 1.3).
source "$(dirname "$0")/lib.sh"
P=(pkcs11-tool --module "$CERTKEY_MODULE" --login --pin 123456)
db=sql:$workdir/nssdb

step "keys and self-signed certificates made with the token keys: EC in 9A, RSA in 9D"
for spec in "01 EC:prime256v1 certkey-nss-ec" "03 rsa:2048 certkey-nss-rsa"; do
  read -r id type cn <<<"$spec"
  "${P[@]}" --keypairgen --key-type "$type" --id "$id" >/dev/null 2>&1 || fail "keygen $id"
  OPENSSL_CONF=$(engine_config "$CERTKEY_MODULE") openssl req -new -x509 -days 30 -subj "/CN=$cn" \
    -engine pkcs11 -keyform engine -key "pkcs11:id=%$id;type=private" -passin pass:123456 \
    -out "$cn.pem" >/dev/null 2>&1 || fail "self-sign $id"
  openssl x509 -in "$cn.pem" -outform DER -out "$cn.der"
  "${P[@]}" --write-object "$cn.der" --type cert --id "$id" >/dev/null 2>&1 || fail "write cert $id"
done

step "certkey-register-nss registers the module with modutil; certutil lists the certificates"
expect_output "certkey registered" "$CERTKEY_BUILD/pkcs11-module/certkey-register-nss" --dbdir "$workdir/nssdb" \
  --module "$CERTKEY_MODULE"
expect_output "already registered" "$CERTKEY_BUILD/pkcs11-module/certkey-register-nss" --dbdir "$workdir/nssdb" \
  --module "$CERTKEY_MODULE"

expect_output "certkey" modutil -dbdir "$db" -list
token=$(pkcs11-tool --module "$CERTKEY_MODULE" -T 2>/dev/null | sed -n 's/^ *token label *: *\(.*\)$/\1/p' | head -1)
expect_output "$token:PIV Authentication" certutil -d "$db" -L -h "$token"
expect_output "$token:Key Management" certutil -d "$db" -L -h "$token"

step "TLS client authentication with tstclnt against openssl s_server"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -subj "/CN=127.0.0.1" \
  -days 1 -out server.pem 2>/dev/null
cat certkey-nss-ec.pem certkey-nss-rsa.pem > client-cas.pem
port=44330
# One server per handshake (-naccept 1): it verifies the client certificate against
# client-cas.pem, logs it, and exits when the connection ends. tstclnt would wait for data
# forever after its handshake, so its output (unbuffered: stdbuf) goes through a FIFO to sed, which
# stops at the line tstclnt prints once the handshake is complete; then tstclnt is stopped.
# Server readiness is read from the socket table: a probe connection would use up the accept.
client_auth() {
  local label=$1 version=$2 cn=$3
  openssl s_server -accept "127.0.0.1:$port" -cert server.pem -key server.key -Verify 1 \
    -CAfile client-cas.pem -naccept 1 -rev > server.log 2>&1 < /dev/null &
  local server=$!
  until ss -Hltn "sport = :$port" | grep -q .; do
    kill -0 "$server" 2>/dev/null || { cat server.log; fail "s_server did not start"; }
  done
  rm -f client.out && mkfifo client.out
  sed -u '/Cert Status items\|[Ee]rror\|failed/q' < client.out > client.log &  # -u: line by line
  local reader=$!
  stdbuf -o0 tstclnt -h 127.0.0.1 -p "$port" -d "$db" -n "$token:$label" -w 123456 -o -V "$version:$version" \
    < /dev/null > client.out 2>&1 &
  local client=$!
  wait "$reader" || true
  kill "$client" 2>/dev/null || true
  wait "$client" 2>/dev/null || true
  wait "$server" || true
  grep -q "Peer certificate: CN = $cn" server.log && grep -q "Verification: OK" server.log ||
    { cat client.log server.log; fail "no verified $cn client certificate over $version"; }
}
client_auth "PIV Authentication" tls1.3 certkey-nss-ec
client_auth "Key Management" tls1.3 certkey-nss-rsa   # RSA-PSS signature from the token
grep -q "Signature type: RSA-PSS" server.log || { cat server.log; fail "TLS 1.3 with RSA did not use PSS"; }
client_auth "Key Management" tls1.2 certkey-nss-rsa
echo "nss: all checks passed"
