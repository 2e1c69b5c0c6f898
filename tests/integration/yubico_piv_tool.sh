#!/usr/bin/env bash
# yubico-piv-tool against a simulated token: status, PIN/PUK management, a new
# management key, key generation, a self-signed certificate imported, signatures verified
# with the openssl command line, and attestation.
source "$(dirname "$0")/lib.sh"
Y=(yubico-piv-tool -r token1)
NEW_KEY=0a0b0c0d0e0f10111213141516171819202122232425262a

step status
expect_output "PIN tries left:	3" "${Y[@]}" -a status
expect_output "Version:	5.7.0" "${Y[@]}" -a status

step "change PIN and PUK, block the PIN, unblock it with the PUK"
expect_output "Successfully changed the pin code" "${Y[@]}" -a change-pin -P 123456 -N 654321
expect_output "Successfully changed the puk code" "${Y[@]}" -a change-puk -P 12345678 -N 87654321
expect_failure "2 tries left" "${Y[@]}" -a verify-pin -P 111111
expect_failure "1 tries left" "${Y[@]}" -a verify-pin -P 111111
expect_failure "blocked" "${Y[@]}" -a verify-pin -P 111111
expect_failure "blocked" "${Y[@]}" -a verify-pin -P 654321
expect_output "Successfully unblocked the pin code" "${Y[@]}" -a unblock-pin -P 87654321 -N 135790
expect_output "Successfully verified PIN" "${Y[@]}" -a verify-pin -P 135790

step "set a new management key; the old one stops working"
expect_output "Successfully set new management key" "${Y[@]}" -a set-mgm-key -n "$NEW_KEY"
expect_failure "Failed authentication" "${Y[@]}" -a generate -s 9a -A ECCP256

step "generate P-256 in 9a and RSA-2048 in 9c"
expect_output "Successfully generated" "${Y[@]}" --key="$NEW_KEY" -a generate -s 9a -A ECCP256 -o pub9a.pem
expect_output "Successfully generated" "${Y[@]}" --key="$NEW_KEY" -a generate -s 9c -A RSA2048 -o pub9c.pem
openssl pkey -pubin -in pub9a.pem -noout -text | grep -q "NIST CURVE: P-256" || fail "9a is not P-256"
openssl pkey -pubin -in pub9c.pem -noout -text | grep -q "Public-Key: (2048 bit)" || fail "9c is not RSA-2048"

step "self-signed certificate for 9a, made with the token key, imported with yubico-piv-tool"
# yubico-piv-tool 2.2.0's selfsign-certificate fails under Debian 12's OpenSSL 3 before it
# sends anything (docs/dependencies.md, libp11), so the certificate is signed through OpenSC's PIV
# driver and libp11's engine; OpenSC takes the public key of a slot without a certificate
# from PIV_9A_KEY.
openssl pkey -pubin -in pub9a.pem -outform DER -out pub9a.der
PIV_9A_KEY=$workdir/pub9a.der OPENSSL_CONF=$(engine_config "$OPENSC_MODULE") \
  openssl req -new -x509 -days 30 -subj "/CN=certkey selfsigned 9a" -engine pkcs11 -keyform engine \
  -key "pkcs11:id=%01;type=private" -passin pass:135790 -out cert9a.pem >/dev/null 2>&1 ||
  fail "self-signing with the 9a key"
openssl x509 -in cert9a.pem -noout -pubkey | cmp - pub9a.pem || fail "certificate key is not the 9a key"
openssl verify -CAfile cert9a.pem cert9a.pem >/dev/null || fail "self-signature does not verify"
expect_output "Successfully imported" "${Y[@]}" --key="$NEW_KEY" -a import-certificate -s 9a -i cert9a.pem
expect_output "Subject DN:	CN=certkey selfsigned 9a" "${Y[@]}" -a status

step "sign with 9a (ECDSA) and 9c (RSA), verify with openssl"
echo "certkey test data" > data
expect_output "Signature successful" "${Y[@]}" -a verify-pin -P 135790 --sign -s 9a -A ECCP256 -H SHA256 -i data -o sig9a
openssl dgst -sha256 -verify pub9a.pem -signature sig9a data | grep -q "Verified OK" || fail "9a signature"
expect_output "Signature successful" "${Y[@]}" -a verify-pin -P 135790 --sign -s 9c -A RSA2048 -H SHA256 -i data -o sig9c
openssl dgst -sha256 -verify pub9c.pem -signature sig9c data | grep -q "Verified OK" || fail "9c signature"

step "attestation of 9a chains to the token's attestation certificate"
"${Y[@]}" -a attest -s 9a -o attest9a.pem >/dev/null
"${Y[@]}" -a read-certificate -s f9 -o f9.pem >/dev/null
openssl verify -CAfile f9.pem attest9a.pem >/dev/null || fail "attestation does not chain to F9"
openssl x509 -in attest9a.pem -noout -pubkey | cmp - pub9a.pem || fail "attested key is not the 9a key"
echo "yubico-piv-tool: all checks passed"
