# Shared helpers for integration tests. Each test runs inside tests/harness/with-tokens.
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }
# expect_output "substring" command...: runs the command, requires success and the substring.
expect_output() {
  local want=$1; shift
  local out
  out=$("$@" 2>&1) || { echo "$out" >&2; fail "command failed: $*"; }
  grep -qF -- "$want" <<<"$out" || { echo "$out" >&2; fail "'$want' not in output of: $*"; }
}
# expect_failure "substring" command...: requires failure and the substring in the output.
expect_failure() {
  local want=$1; shift
  local out
  if out=$("$@" 2>&1); then echo "$out" >&2; fail "command unexpectedly succeeded: $*"; fi
  grep -qF -- "$want" <<<"$out" || { echo "$out" >&2; fail "'$want' not in output of: $*"; }
}

multiarch=$(gcc -print-multiarch 2>/dev/null || dpkg-architecture -qDEB_HOST_MULTIARCH)
OPENSC_MODULE=/usr/lib/$multiarch/opensc-pkcs11.so
[[ -f $OPENSC_MODULE ]] || fail "opensc-pkcs11.so not found"
CERTKEY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CERTKEY_MODULE=${CERTKEY_BUILD:-$CERTKEY_ROOT/build}/pkcs11-module/src/libcertkey-pkcs11.so
# scripts/test builds with AddressSanitizer; peer tools that load the module then need the
# ASan runtime first in line, and libstdc++ loaded before ASan looks for __cxa_throw (most
# peer tools are C programs).
if [[ -f $CERTKEY_MODULE ]] && asan=$(ldd "$CERTKEY_MODULE" | awk '/libasan/ { print $3 }') && [[ -n $asan ]]; then
  export LD_PRELOAD="$asan $(ldd "$CERTKEY_MODULE" | awk '/libstdc\+\+/ { print $3 }')"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
cd "$workdir"

# An OpenSSL config that loads libp11's engine for one module, for this process only.
engine_config() {
  cat > engine.cnf <<CNF
openssl_conf = init
[init]
engines = engines
[engines]
pkcs11 = pkcs11
[pkcs11]
engine_id = pkcs11
MODULE_PATH = $1
init = 0
CNF
  echo "$workdir/engine.cnf"
}

DEFAULT_MGMT_KEY=010203040506070801020304050607080102030405060708

# provision_slot READER SLOT ALG CN: generates a key in SLOT with yubico-piv-tool and stores a
# certificate for it, signed with the token's 9a key through OpenSC and libp11's engine
# (yubico-piv-tool 2.2.0's selfsign is broken under OpenSSL 3): 9a's certificate is
# self-signed, other slots' are issued by 9a (their own keys may need a per-use PIN, which
# the engine cannot ask for here). Leaves pub<SLOT>.pem and cert<SLOT>.pem behind. Uses the
# default PIN and management key; provision 9a first.
provision_slot() {
  local reader=$1 slot=$2 alg=$3 cn=$4
  yubico-piv-tool -r "$reader" -a generate -s "$slot" -A "$alg" -o "pub$slot.pem" >/dev/null 2>&1 ||
    fail "generate $slot"
  local engine=(-engine pkcs11 -passin pass:123456)
  if [[ $slot == 9a ]]; then
    openssl pkey -pubin -in pub9a.pem -outform DER -out pub9a.der
    PIV_9A_KEY=$workdir/pub9a.der OPENSSL_CONF="$(engine_config "$OPENSC_MODULE")" \
      openssl req -new -x509 -days 30 -subj "/CN=$cn" "${engine[@]}" -keyform engine \
      -key "pkcs11:id=%01;type=private" -out cert9a.pem >/dev/null 2>&1 || fail "self-sign 9a"
  else
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
      -subj "/CN=$cn" -out "req$slot.pem" 2>/dev/null
    OPENSSL_CONF="$(engine_config "$OPENSC_MODULE")" openssl x509 -req -in "req$slot.pem" \
      -force_pubkey "pub$slot.pem" -CA cert9a.pem "${engine[@]}" -CAkeyform engine \
      -CAkey "pkcs11:id=%01;type=private" -set_serial "0x$slot" -days 30 -out "cert$slot.pem" \
      >/dev/null 2>&1 || fail "issue certificate for $slot"
  fi
  yubico-piv-tool -r "$reader" -a import-certificate -s "$slot" -i "cert$slot.pem" >/dev/null 2>&1 ||
    fail "import certificate $slot"
}

# token_serial MODEL: the serial of the (only) token whose PKCS#11 model is MODEL ("USB KEY",
# "SD KEY", "SIM"), as listed by libcertkey-pkcs11.so.
token_serial() {
  pkcs11-tool --module "$CERTKEY_MODULE" --list-token-slots 2>/dev/null |
    awk -v model="$1" '/token model/ { sub(/.*: /, ""); m = $0 } /serial num/ && m == model { print $NF; exit }'
}

# big_certificate FILE: a self-signed certificate just under 4 KiB (DER), the most a slot
# holds (kMaxCertificate, 4,096 bytes): writing it takes many APDUs or HID reports.
big_certificate() {
  local names="" i size=0
  for ((i = 0; i < 130; i++)); do
    names+="${names:+,}DNS:host$i.renewal.certkey.example"
    ((i < 100)) && continue
    openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
      -subj "/CN=certkey 4 KiB certificate" -addext "subjectAltName=$names" -days 10 -outform DER \
      -out "$1.next" 2>/dev/null
    (($(stat -c %s "$1.next") > 4096)) && break
    mv "$1.next" "$1"
  done
  rm -f "$1.next"
  size=$(stat -c %s "$1")
  ((size > 4000)) || fail "certificate is only $size bytes"
}

# start_daemon ORIGIN...: starts certkeyd on a free loopback port, allowing the ORIGINs, with
# the scripted pinentry answering as $workdir/answers says (pin:123456 to begin with; see
# tests/harness/scripted-pinentry). Sets DAEMON_URL and API (curl with the Host and Origin
# headers a browser on the first ORIGIN sends, and the headers a POST needs); stops it at exit.
start_daemon() {
  local origins=() origin
  for origin in "$@"; do origins+=(--allow-origin "$origin"); done
  printf '[pin]\nprogram = "%s"\n' "$CERTKEY_ROOT/tests/harness/scripted-pinentry" > "$workdir/certkeyd.toml"
  # DAEMON_TRUST: a PEM file of the CA whose certificates renewals accept.
  [[ -z ${DAEMON_TRUST:-} ]] || printf '[trust]\nanchors = ["%s"]\n' "$(realpath "$DAEMON_TRUST")" >> "$workdir/certkeyd.toml"
  [[ -f $workdir/answers ]] || echo pin:123456 > "$workdir/answers"
  export SCRIPTED_PINENTRY_ANSWERS=$workdir/answers SCRIPTED_PINENTRY_LOG=$workdir/pinentry.log
  rm -f "$workdir/daemon.port" && mkfifo "$workdir/daemon.port"
  # Neither needs the ASan preload the peer tools get (curl hangs under it).
  env -u LD_PRELOAD "$CERTKEY_BUILD/daemon/certkeyd" --config "$workdir/certkeyd.toml" "${origins[@]}" \
    --port "${DAEMON_PORT:-0}" --port-file "$workdir/daemon.port" --state-dir "$workdir/daemon-state" \
    --socket "$workdir/certkeyd.sock" --module "$CERTKEY_MODULE" 2>>"$workdir/daemon.log" &
  DAEMON_PID=$!
  trap 'kill $DAEMON_PID 2>/dev/null; wait $DAEMON_PID 2>/dev/null; rm -rf "$workdir"' EXIT
  # The daemon writes its port into the FIFO once it listens: reading it is waiting for that.
  # (The bound only turns a daemon that died before listening into a failure.)
  read -r -t 120 DAEMON_PORT <> "$workdir/daemon.port" || { cat "$workdir/daemon.log" >&2; fail "certkeyd did not start"; }
  API=(env -u LD_PRELOAD curl -sS -H "Host: 127.0.0.1:$DAEMON_PORT" -H "Origin: $1" -H "X-Certkey-Request: 1"
       -H "Content-Type: application/json")
  DAEMON_URL=http://127.0.0.1:$DAEMON_PORT
}

stop_daemon() {
  kill "$DAEMON_PID" && wait "$DAEMON_PID" 2>/dev/null || true
}
