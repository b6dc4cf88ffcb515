#!/usr/bin/env bash
# The wire, checked with real tools: a capture of a session holds neither the
# command nor its output, and the server speaks TLS 1.3 with AEAD suites only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pki_script=${TREX_PKI_SCRIPT:-$here/../../tools/pki}
trexd=${TREXD_BIN:?TREXD_BIN is not set}
trex=${TREX_BIN:?TREX_BIN is not set}

passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what" >&2; fi
}

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

bash "$pki_script" --dir "$tmp/pki" init >/dev/null
bash "$pki_script" --dir "$tmp/pki" server server >/dev/null
bash "$pki_script" --dir "$tmp/pki" client client >/dev/null
P=$tmp/pki
"$trexd" --listen 127.0.0.1:0 --ca "$P/ca.crt" --cert "$P/issued/server.crt" \
  --key "$P/private/server.key" --crl "$P/crl.pem" --log-dir "$tmp/log" 2>"$tmp/trexd.err" &
pids+=($!)
for _ in $(seq 200); do
  addr=$(grep -o 'listening on [0-9.:]*' "$tmp/log/server.log" 2>/dev/null | awk '{print $3}' || true)
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "$addr" ] || { echo "trexd did not start: $(cat "$tmp/trexd.err")" >&2; exit 1; }
port=${addr##*:}
client=(--ca "$P/ca.crt" --cert "$P/issued/client.crt" --key "$P/private/client.key")

# 1. Capture a session: the marker in the command and its output must not
#    appear in the bytes on the wire (in either direction).
if command -v tcpdump >/dev/null && [ "$(id -u)" -eq 0 ]; then
  tcpdump -Z root -i lo -U -w "$tmp/cap.pcap" "tcp port $port" >"$tmp/tcpdump.err" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && break; sleep 0.05; done
  marker="trex-wire-marker-$RANDOM$RANDOM"
  out=$("$trex" "${client[@]}" "127.0.0.1:$port" echo "$marker")
  check "the command ran" [ "$out" = "$marker" ]
  size=0
  for _ in $(seq 100); do  # tcpdump writes what it saw with some delay
    size=$(stat -c %s "$tmp/cap.pcap" 2>/dev/null || echo 0)
    [ "$size" -gt 2000 ] && break
    sleep 0.05
  done
  kill -INT "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  size=$(stat -c %s "$tmp/cap.pcap" 2>/dev/null || echo 0)
  check "the capture saw the session ($size bytes)" [ "$size" -gt 2000 ]
  check "the command is not on the wire in clear" bash -c "! grep -aq '$marker' '$tmp/cap.pcap'"
  check "the client certificate's CN is not on the wire (TLS 1.3 encrypts it)" \
    bash -c "! grep -aq 'client' <(tr -cd '[:print:]' < '$tmp/cap.pcap' | grep -ao 'CN=client')"
else
  echo "skipped: capture (needs tcpdump and root)"
fi

# 2. Protocol and cipher sweep with openssl s_client.
probe() { # probe OPENSSL-ARGS... -> 0 when the handshake completes
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$P/ca.crt" \
    -cert "$P/issued/client.crt" -key "$P/private/client.key" -alpn trex/1 "$@" \
    </dev/null >"$tmp/probe.out" 2>&1 &&
    grep -q "^New, TLSv1.3" "$tmp/probe.out"
}
for old in -tls1 -tls1_1 -tls1_2; do
  check "$old is refused" bash -c "! timeout 10 openssl s_client -connect 127.0.0.1:$port $old </dev/null 2>&1 | grep -q '^New, TLSv1'"
done
for suite in TLS_CHACHA20_POLY1305_SHA256 TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384; do
  check "TLS 1.3 with $suite works" probe -tls1_3 -ciphersuites "$suite"
done
for suite in TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256; do
  check "$suite is not offered" bash -c "! timeout 10 openssl s_client -connect 127.0.0.1:$port -tls1_3 -ciphersuites $suite -alpn trex/1 </dev/null 2>&1 | grep -q '^New, TLSv1.3'"
done
# The server's own order decides (ChaCha20 first, or AES-128-GCM with AES-NI).
check "the server picks its preferred suite" bash -c "timeout 10 openssl s_client -connect 127.0.0.1:$port -CAfile '$P/ca.crt' -cert '$P/issued/client.crt' -key '$P/private/client.key' -alpn trex/1 -tls1_3 </dev/null 2>&1 | grep -Eq 'Cipher is TLS_(CHACHA20_POLY1305_SHA256|AES_128_GCM_SHA256)'"
check "the server is still serving" [ "$("$trex" "${client[@]}" "127.0.0.1:$port" echo ok)" = ok ]

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
