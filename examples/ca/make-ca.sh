#!/usr/bin/env bash
# make-ca.sh DIR [NAME]
#
# A root CA and an issuing CA under it, with the openssl command line only: DIR/root.pem,
# root.key, issuing.pem and issuing.key, the layout certkey-test-ca serves (docs/test-ca.md).
# EC P-256 keys, ten years. certkeyd trusts DIR/root.pem as its anchor and DIR/issuing.pem as
# an intermediate ([trust] in certkeyd.toml).
set -euo pipefail
dir=${1:?usage: make-ca.sh DIR [NAME]} name=${2:-certkey test}
mkdir -p "$dir"
cd "$dir"
[[ -e root.pem ]] && { echo "make-ca.sh: $dir already holds a CA; it is kept" >&2; exit 1; }
umask 077
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
  -subj "/CN=$name root CA" -days 3650 -out root.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout issuing.key \
  -subj "/CN=$name issuing CA" -out issuing.csr 2>/dev/null
printf '%s\n' 'basicConstraints = critical,CA:TRUE' 'keyUsage = critical,keyCertSign,cRLSign,digitalSignature' \
  'subjectKeyIdentifier = hash' 'authorityKeyIdentifier = keyid' > issuing.ext
openssl x509 -req -in issuing.csr -CA root.pem -CAkey root.key -set_serial 2 -days 3650 \
  -extfile issuing.ext -out issuing.pem 2>/dev/null
rm issuing.csr issuing.ext
chmod 644 root.pem issuing.pem
echo "make-ca.sh: $dir/root.pem and $dir/issuing.pem (keys beside them)"
