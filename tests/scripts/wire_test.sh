#!/usr/bin/env bash
# The wire, checked with real tools: a capture of a session holds neither the
# command nor its output nor the client's certificate, the key exchange is
# X25519, and the server itself refuses anything but TLS 1.3 and its AEAD suites.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
pki_script=${TREX_PKI_SCRIPT:-$here/../../tools/pki}
trexd=${TREXD_BIN:?TREXD_BIN is not set}
trex=${TREX_BIN:?TREX_BIN is not set}

passed=0 failed=0 skipped=0
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what" >&2; fi
}
skip() { skipped=$((skipped + 1)); echo "SKIP: $*"; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

bash "$pki_script" --dir "$tmp/pki" init >/dev/null
bash "$pki_script" --dir "$tmp/pki" server server --loopback >/dev/null
bash "$pki_script" --dir "$tmp/pki" client client >/dev/null
P=$tmp/pki
log=$tmp/log/server.log
"$trexd" --listen 127.0.0.1:0 --ca "$P/ca.crt" --cert "$P/issued/server.crt" \
  --key "$P/private/server.key" --crl "$P/crl.pem" --log-dir "$tmp/log" --allow-all 2>"$tmp/trexd.err" &
pids+=($!)
for _ in $(seq 200); do
  addr=$(grep -o 'listening on [0-9.:]*' "$log" 2>/dev/null | awk '{print $3}' || true)
  [ -n "$addr" ] && break
  sleep 0.05
done
[ -n "$addr" ] || { echo "trexd did not start: $(cat "$tmp/trexd.err")" >&2; exit 1; }
port=${addr##*:}
client=(--ca "$P/ca.crt" --cert "$P/issued/client.crt" --key "$P/private/client.key")

# Bytes as " xx xx ...", so that a fixed-string search stays byte-aligned.
hex_of() { od -An -v -tx1 "$1" | tr -s ' \n' '  '; }
# has_bytes NEEDLE HAYSTACK: the file HAYSTACK contains the bytes of NEEDLE.
has_bytes() { grep -qF -- "$(hex_of "$1")" <(hex_of "$2"); }
# has_any_slice DER HAYSTACK: any of three 48-byte slices (start, middle, end)
# of DER is in HAYSTACK; catches a certificate split across TCP segments.
has_any_slice() {
  local size off
  size=$(stat -c %s "$1")
  for off in 0 $(((size - 48) / 2)) $((size - 48)); do
    tail -c +$((off + 1)) "$1" | head -c 48 >"$tmp/slice"
    has_bytes "$tmp/slice" "$2" && return 0
  done
  return 1
}
lacks_text() { ! grep -aqF -- "$1" "$2"; }  # lacks_text STRING FILE
lacks_cert() { ! has_any_slice "$1" "$2"; } # lacks_cert DER FILE

# 1. Capture a session: the marker in the command, the command's output and
#    the client's certificate must not appear in the bytes on the wire.
if command -v tcpdump >/dev/null && [ "$(id -u)" -eq 0 ]; then
  openssl x509 -in "$P/issued/client.crt" -outform DER -out "$tmp/client.der"
  openssl x509 -in "$P/issued/server.crt" -outform DER -out "$tmp/server.der"
  # The search itself must work: the DER hidden at an odd offset in noise is found.
  { head -c 1001 /dev/urandom; cat "$tmp/client.der"; head -c 999 /dev/urandom; } >"$tmp/noise"
  check "the byte search finds a certificate hidden in noise" has_bytes "$tmp/client.der" "$tmp/noise"
  check "the slice search finds a certificate hidden in noise" has_any_slice "$tmp/client.der" "$tmp/noise"

  tcpdump -Z root -i lo -U -w "$tmp/cap.pcap" "tcp port $port" >"$tmp/tcpdump.err" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && break; sleep 0.05; done
  # The command carries the marker in lower case; its output is the marker in
  # upper case, so each direction is checked for its own string.
  marker="trex-wire-marker-$RANDOM$RANDOM"
  output_marker=$(printf '%s' "$marker" | tr '[:lower:]' '[:upper:]')
  # shellcheck disable=SC2016  # $1 is expanded by the remote sh
  out=$("$trex" "${client[@]}" "127.0.0.1:$port" sh -c 'printf "%s\n" "$1" | tr "[:lower:]" "[:upper:]"' sh "$marker" || true)
  check "the command ran" [ "$out" = "$output_marker" ]
  size=0
  for _ in $(seq 100); do  # tcpdump writes what it saw with some delay
    size=$(stat -c %s "$tmp/cap.pcap" 2>/dev/null || echo 0)
    [ "$size" -gt 2000 ] && break
    sleep 0.05
  done
  sleep 0.2  # the last packets (close_notify, FIN) of the session
  kill -INT "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  size=$(stat -c %s "$tmp/cap.pcap" 2>/dev/null || echo 0)
  check "the capture saw the session ($size bytes)" [ "$size" -gt 2000 ]
  # The ClientHello is in clear: its ALPN proves the capture holds this handshake.
  check "the capture holds the handshake (ALPN trex/1 in the ClientHello)" grep -aqF 'trex/1' "$tmp/cap.pcap"
  # ServerHello key_share: extension 0x0033, length 0x24, group 0x001d (X25519), 32-byte key.
  printf '\x00\x33\x00\x24\x00\x1d\x00\x20' >"$tmp/x25519-share"
  check "the trex session's ServerHello picks X25519" has_bytes "$tmp/x25519-share" "$tmp/cap.pcap"
  check "the command is not on the wire in clear" lacks_text "$marker" "$tmp/cap.pcap"
  check "the command's output is not on the wire in clear" lacks_text "$output_marker" "$tmp/cap.pcap"
  check "the client certificate is not on the wire (TLS 1.3 encrypts it)" \
    lacks_cert "$tmp/client.der" "$tmp/cap.pcap"
  check "the server certificate is not on the wire (TLS 1.3 encrypts it)" \
    lacks_cert "$tmp/server.der" "$tmp/cap.pcap"
else
  skip "capture (needs tcpdump and root): the command, its output and the client certificate are NOT checked on the wire"
fi

# 2. Protocol and cipher sweep with openssl s_client.
probe() { # probe OPENSSL-ARGS... -> 0 when the handshake completes
  timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$P/ca.crt" \
    -cert "$P/issued/client.crt" -key "$P/private/client.key" -alpn trex/1 "$@" \
    </dev/null >"$tmp/probe.out" 2>&1 &&
    grep -q "^New, TLSv1.3" "$tmp/probe.out"
}
# refused_old VERSION-FLAG: the server itself refuses an older TLS. SECLEVEL=0
# makes the local openssl offer TLS 1.0/1.1 at all; the ClientHello must go
# out with that version, the server must answer with a protocol_version alert
# and log the refusal.
refused_old() {
  local flag=$1 want before after
  case $flag in -tls1) want="TLS 1.0" ;; -tls1_1) want="TLS 1.1" ;; -tls1_2) want="TLS 1.2" ;; esac
  before=$(grep -c 'handshake failed: protocol version' "$log" || true)
  timeout 10 openssl s_client -connect "127.0.0.1:$port" "$flag" -cipher 'DEFAULT@SECLEVEL=0' -msg \
    -CAfile "$P/ca.crt" -cert "$P/issued/client.crt" -key "$P/private/client.key" \
    </dev/null >"$tmp/old.out" 2>&1 || true
  if grep -q '^New, TLSv1' "$tmp/old.out"; then echo "  $flag: the handshake completed" >&2; return 1; fi
  if ! grep -q "^>>> $want, Handshake .*ClientHello" "$tmp/old.out"; then
    echo "  $flag: the local openssl sent no $want ClientHello:" >&2
    head -n 5 "$tmp/old.out" | sed 's/^/    /' >&2
    return 1
  fi
  if ! grep -q '^<<< .*Alert .*fatal protocol_version' "$tmp/old.out"; then
    echo "  $flag: no protocol_version alert from the server:" >&2
    grep -E '^(<<<|>>>)|alert|error' "$tmp/old.out" | head -n 5 | sed 's/^/    /' >&2
    return 1
  fi
  for _ in $(seq 40); do
    after=$(grep -c 'handshake failed: protocol version' "$log" || true)
    [ "$after" -gt "$before" ] && return 0
    sleep 0.05
  done
  echo "  $flag: the server did not log 'handshake failed: protocol version'" >&2
  return 1
}
for old in -tls1 -tls1_1 -tls1_2; do
  check "$old is refused by the server" refused_old "$old"
done
for suite in TLS_CHACHA20_POLY1305_SHA256 TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384; do
  check "TLS 1.3 with $suite works" probe -tls1_3 -ciphersuites "$suite"
done
for suite in TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256; do
  check "$suite is not offered" bash -c "! timeout 10 openssl s_client -connect 127.0.0.1:$port -tls1_3 -ciphersuites $suite -alpn trex/1 </dev/null 2>&1 | grep -q '^New, TLSv1.3'"
done
# The server's own order decides, whatever the client prefers: AES-128-GCM
# first in the assembly build (AES-NI), else ChaCha20-Poly1305.
if [ "${TREX_WOLFSSL_ASM:-0}" = 1 ]; then want=TLS_AES_128_GCM_SHA256; else want=TLS_CHACHA20_POLY1305_SHA256; fi
check "the server picks its preferred suite $want" bash -c "timeout 10 openssl s_client -connect 127.0.0.1:$port -CAfile '$P/ca.crt' -cert '$P/issued/client.crt' -key '$P/private/client.key' -alpn trex/1 -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256 </dev/null 2>&1 | grep -q 'Cipher is $want'"
# openssl 3.0 prints "Server Temp Key", later versions "Peer Temp Key".
x25519() { probe -tls1_3 && grep -Eq '^(Server|Peer) Temp Key: X25519' "$tmp/probe.out"; }
check "the key exchange is X25519" x25519
check "the server is still serving" [ "$("$trex" "${client[@]}" "127.0.0.1:$port" echo ok)" = ok ]

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
