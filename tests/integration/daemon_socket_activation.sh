#!/usr/bin/env bash
# certkeyd started by socket activation, as systemd's socket units would start it
# (docs/daemon.md, "Socket activation"): systemd-socket-activate holds the unix socket and
# 127.0.0.1 and [::1] on one port, and starts certkeyd at the first connection with those
# sockets (LISTEN_FDS). `certkey status` on the unix socket is that first connection.
source "$(dirname "$0")/lib.sh"

# A port free on both loopback addresses, chosen here.
port=$(python3 - <<'PY'
import socket
for _ in range(100):
    a = socket.socket(socket.AF_INET); a.bind(("127.0.0.1", 0)); p = a.getsockname()[1]
    b = socket.socket(socket.AF_INET6)
    try:
        b.bind(("::1", p)); print(p); break
    except OSError:
        pass
    finally:
        a.close(); b.close()
PY
)
[[ -n $port ]] || fail "no port free on both loopback addresses"
runtime=$workdir/runtime && mkdir -m 0700 -p "$runtime/certkey"
socket=$runtime/certkey/certkeyd.sock
printf '[pin]\nprogram = "%s"\n' "$CERTKEY_ROOT/tests/harness/scripted-pinentry" > certkeyd.toml

step "systemd-socket-activate holds the sockets; certkeyd is not running yet"
mkfifo activator.err
# The activator passes on only the environment it is told to: the sanitizers' options of an
# ASan build (scripts/test turns leak checking off for everything it starts).
env -u LD_PRELOAD systemd-socket-activate -l "127.0.0.1:$port" -l "[::1]:$port" -l "$socket" \
  -E "ASAN_OPTIONS=${ASAN_OPTIONS:-}" -E "UBSAN_OPTIONS=${UBSAN_OPTIONS:-}" \
  "$CERTKEY_BUILD/daemon/certkeyd" --config "$workdir/certkeyd.toml" --allow-origin https://portal.example \
  --state-dir "$workdir/daemon-state" --module "$CERTKEY_MODULE" 2>activator.err &
activator=$!
trap 'kill $activator 2>/dev/null; wait $activator 2>/dev/null; rm -rf "$workdir"' EXIT
# The activator says when its last socket listens; its output, then certkeyd's, goes on to a file.
exec 4<activator.err
while IFS= read -r -t 60 line <&4; do
  echo "$line" >> daemon.log
  [[ $line == "Listening on $socket as 5." ]] && break
done
cat <&4 >> daemon.log &
grep -q "Listening on $socket as 5" daemon.log || { cat daemon.log >&2; fail "the activator did not listen"; }
[[ $(cat /proc/$activator/comm) == systemd-socket-* ]] || fail "certkeyd started before any connection"

step "certkey status, the first connection, starts certkeyd in the activator's place and is answered"
status=$(env -u LD_PRELOAD "$CERTKEY_BUILD/daemon/certkey" --socket "$socket" --json status) ||
  { cat daemon.log >&2; fail "certkey status failed"; }
[[ $(jq '.tokens | length' <<<"$status") == 1 ]] || { echo "$status" >&2; fail "no token in the status"; }
[[ $(cat /proc/$activator/comm) == certkeyd ]] || fail "the activator did not become certkeyd"
grep -q "serving the sockets systemd passed" daemon.log || { cat daemon.log >&2; fail "certkeyd bound sockets of its own"; }

step "HTTP answers on both loopback sockets systemd made"
for host in 127.0.0.1 "[::1]"; do
  code=$(env -u LD_PRELOAD curl -sS -o tokens.json -w '%{http_code}' -g -H "Host: $host:$port" \
    -H "Origin: https://portal.example" "http://$host:$port/v1/tokens") || fail "curl on $host"
  [[ $code == 200 && $(jq '.tokens | length' tokens.json) == 1 ]] ||
    { cat tokens.json >&2; fail "GET /v1/tokens on $host: $code"; }
done

step "stopped, certkeyd leaves the socket file to its owner"
kill "$activator" && wait "$activator" || fail "certkeyd did not stop cleanly"
trap 'rm -rf "$workdir"' EXIT
[[ -S $socket ]] || fail "certkeyd removed systemd's socket file"
