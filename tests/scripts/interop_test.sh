#!/usr/bin/env bash
# trex with the CA tools labs run, each built the way real private CAs are: a
# root (the trust anchor), an intermediate that signs the server and the
# people, one CRL per CA. Plain `openssl ca`, easy-rsa with a sub-CA, and
# cfssl (root + intermediate). For each: a good client gets in, a revoked one
# is refused, and trex accepts the server certificate the intermediate signed.
set -euo pipefail
export LC_ALL=C
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
quiet() { "$@" >"$tmp/quiet.log" 2>&1 || { cat "$tmp/quiet.log" >&2; return 1; }; }

# Without a policy, trexd needs --allow-all where it has that flag.
no_policy=()
if "$trexd" --help 2>/dev/null | grep -q -- --allow-all; then no_policy=(--allow-all); fi

# ---- one CA tool's PKI in DIR: root.crt, crl.pem (every CA's CRL),
# server.crt + server.key (leaf + intermediate, DNS:localhost), alice (good)
# and bob (revoked), each NAME.crt holding leaf + intermediate.

openssl_ca_pki() {
  local d=$1
  mkdir -p "$d" && cd "$d"
  cat >ext.cnf <<'X'
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
X
  local ca
  for ca in root inter; do
    mkdir -p "$ca/new"
    : >"$ca/index.txt"
    echo 1000 >"$ca/crlnumber"
    printf '[ca]\ndefault_ca=c\n[c]\ndir=%s\ndatabase=$dir/index.txt\nnew_certs_dir=$dir/new\nserial=$dir/serial\ncrlnumber=$dir/crlnumber\ncertificate=$dir/ca.crt\nprivate_key=$dir/ca.key\ndefault_md=sha256\ndefault_days=30\ndefault_crl_days=7\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n[req]\ndistinguished_name=dn\n[dn]\n' \
      "$d/$ca" >"$ca/ca.cnf"
    openssl rand -hex 8 >"$ca/serial"
    quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca/ca.key"
  done
  cat root/ca.cnf ext.cnf >root/req.cnf
  quiet openssl req -config root/req.cnf -new -x509 -key root/ca.key -subj "/O=Lab/CN=Lab openssl Root" \
    -days 60 -extensions root -out root/ca.crt
  quiet openssl req -config inter/ca.cnf -new -key inter/ca.key -subj "/O=Lab/CN=Lab openssl Issuing" -out inter.csr
  quiet openssl ca -config root/ca.cnf -batch -notext -in inter.csr -out inter/ca.crt -extfile ext.cnf -extensions inter
  local n kind
  for n in localhost alice bob; do
    kind=client; [[ $n != localhost ]] || kind=server
    quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$n.key"
    quiet openssl req -config inter/ca.cnf -new -key "$n.key" -subj "/CN=$n" -out "$n.csr"
    quiet openssl ca -config inter/ca.cnf -batch -notext -in "$n.csr" -out "$n.leaf" -extfile ext.cnf -extensions "$kind"
    cat "$n.leaf" inter/ca.crt >"$n.crt"
  done
  mv localhost.crt server.crt && mv localhost.key server.key
  quiet openssl ca -config inter/ca.cnf -revoke bob.leaf
  quiet openssl ca -config inter/ca.cnf -gencrl -out inter.crl
  quiet openssl ca -config root/ca.cnf -gencrl -out root.crl
  cat inter.crl root.crl >crl.pem
  cp root/ca.crt root.crt
}

easyrsa_pki() {
  local d=$1 e
  e=$(command -v easyrsa || echo /usr/share/easy-rsa/easyrsa)
  mkdir -p "$d" && cd "$d"
  export EASYRSA_BATCH=1 EASYRSA_ALGO=ec EASYRSA_CURVE=prime256v1
  EASYRSA_PKI=$d/root quiet "$e" init-pki
  EASYRSA_PKI=$d/root EASYRSA_REQ_CN="Lab easy-rsa Root" quiet "$e" build-ca nopass
  EASYRSA_PKI=$d/sub quiet "$e" init-pki
  EASYRSA_PKI=$d/sub EASYRSA_REQ_CN="Lab easy-rsa Sub" quiet "$e" build-ca nopass subca
  EASYRSA_PKI=$d/root quiet "$e" import-req "$d/sub/reqs/ca.req" sub
  EASYRSA_PKI=$d/root quiet "$e" sign-req ca sub
  cp root/issued/sub.crt sub/ca.crt
  EASYRSA_PKI=$d/sub quiet "$e" build-server-full localhost nopass
  local n
  for n in alice bob; do EASYRSA_PKI=$d/sub quiet "$e" build-client-full "$n" nopass; done
  cp sub/private/bob.key bob.key
  cp sub/issued/bob.crt bob.leaf
  EASYRSA_PKI=$d/sub quiet "$e" revoke bob
  EASYRSA_PKI=$d/sub quiet "$e" gen-crl
  EASYRSA_PKI=$d/root quiet "$e" gen-crl
  cat sub/issued/localhost.crt sub/ca.crt >server.crt
  cp sub/private/localhost.key server.key
  cat sub/issued/alice.crt sub/ca.crt >alice.crt
  cp sub/private/alice.key alice.key
  cat bob.leaf sub/ca.crt >bob.crt
  cat sub/crl.pem root/crl.pem >crl.pem
  cp root/ca.crt root.crt
}

cfssl_pki() {
  local d=$1
  mkdir -p "$d" && cd "$d"
  cat >config.json <<'X'
{"signing": {"default": {"expiry": "720h"}, "profiles": {
  "intermediate": {"usages": ["cert sign", "crl sign"], "expiry": "720h",
                   "ca_constraint": {"is_ca": true, "max_path_len": 0, "max_path_len_zero": true}},
  "server": {"usages": ["digital signature", "key encipherment", "server auth"], "expiry": "720h"},
  "client": {"usages": ["digital signature", "client auth"], "expiry": "720h"}}}}
X
  csr() { printf '{"CN": "%s", "key": {"algo": "ecdsa", "size": 256}%s}\n' "$1" "${2:-}" >"$3"; }
  csr "Lab cfssl Root" "" root.json
  csr "Lab cfssl Intermediate" "" inter.json
  csr localhost ', "hosts": ["localhost"]' server.json
  csr alice "" alice.json
  csr bob "" bob.json
  cfssl gencert -initca root.json 2>/dev/null | cfssljson -bare root
  cfssl gencert -initca inter.json 2>/dev/null | cfssljson -bare inter
  cfssl sign -ca root.pem -ca-key root-key.pem -config config.json -profile intermediate inter.csr \
    2>/dev/null | cfssljson -bare inter
  cfssl gencert -ca inter.pem -ca-key inter-key.pem -config config.json -profile server server.json \
    2>/dev/null | cfssljson -bare server
  local n
  for n in alice bob; do
    cfssl gencert -ca inter.pem -ca-key inter-key.pem -config config.json -profile client "$n.json" \
      2>/dev/null | cfssljson -bare "$n"
  done
  for n in server alice bob; do cat "$n.pem" inter.pem >"$n.crt"; cp "$n-key.pem" "$n.key"; done
  # cfssl gencrl prints a base64 DER CRL: PEM wraps it.
  openssl x509 -in bob.pem -noout -serial | sed 's/^serial=//' |
    python3 -c 'import sys; print(int(sys.stdin.read(), 16))' >revoked.txt
  : >none.txt
  pem_crl() { printf -- '-----BEGIN X509 CRL-----\n%s\n-----END X509 CRL-----\n' "$(fold -w 64)"; }
  cfssl gencrl revoked.txt inter.pem inter-key.pem 2>/dev/null | pem_crl >crl.pem
  cfssl gencrl none.txt root.pem root-key.pem 2>/dev/null | pem_crl >>crl.pem
  cp root.pem root.crt
}

# ---- trexd on the tool's PKI; the three checks.
start_trexd() {  # start_trexd DIR: sets $port
  local d=$1 log=$1/log/server.log addr=""
  "$trexd" --listen 127.0.0.1:0 --ca "$d/root.crt" --cert "$d/server.crt" --key "$d/server.key" \
    --crl "$d/crl.pem" --log-dir "$d/log" "${no_policy[@]}" 2>"$d/trexd.err" &
  pids+=($!)
  for _ in $(seq 400); do
    addr=$(grep -o 'listening on [0-9.:]*' "$log" 2>/dev/null | awk '{print $3}' || true)
    [ -n "$addr" ] && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$addr" ] || { echo "trexd did not start on $d: $(cat "$d/trexd.err")" >&2; return 1; }
  port=${addr##*:}
}

runs() {  # runs DIR NAME: trex as NAME prints what the server ran
  local out
  out=$("$trex" --ca "$1/root.crt" --cert "$1/$2.crt" --key "$1/$2.key" "localhost:$port" echo chained 2>&1)
  [[ $out == chained ]] || { echo "  $2: $out" >&2; return 1; }
}
refused_revoked() {  # refused_revoked DIR NAME
  local out rc=0
  out=$("$trex" --ca "$1/root.crt" --cert "$1/$2.crt" --key "$1/$2.key" "localhost:$port" echo no 2>&1) || rc=$?
  [[ $rc == 255 && $out == *"refused this certificate (revoked"* ]] || { echo "  $2 ($rc): $out" >&2; return 1; }
}
audited_issuer() {  # audited_issuer DIR CN: session_open names the intermediate as issuer
  grep '"event":"session_open"' "$1/log/audit.jsonl" | grep -q "\"issuer\":\"[^\"]*CN=$2"
}

interop() {  # interop TOOL BUILDER ISSUER_CN
  local tool=$1 d=$tmp/$1
  # In the background, so that errexit holds inside (an `if` would lift it).
  ("$2" "$d") >"$tmp/$tool.build" 2>&1 &
  if ! wait $!; then
    failed=$((failed + 1)); echo "FAIL: $tool: could not build its PKI:" >&2; cat "$tmp/$tool.build" >&2; return
  fi
  start_trexd "$d" || { failed=$((failed + 1)); return; }
  check "$tool: a client whose chain is leaf + intermediate gets in (and trex accepts the server's chain)" runs "$d" alice
  check "$tool: the intermediate is audited as the issuer" audited_issuer "$d" "$3"
  check "$tool: a revoked client is refused as revoked" refused_revoked "$d" bob
  check "$tool: the server keeps serving" runs "$d" alice
}

interop "openssl-ca" openssl_ca_pki "Lab openssl Issuing"
if command -v easyrsa >/dev/null || [[ -x /usr/share/easy-rsa/easyrsa ]]; then
  interop easy-rsa easyrsa_pki "Lab easy-rsa Sub"
else
  skip "easy-rsa is not installed (tools/lib/deps.sh installs it with the test set)"
fi
if command -v cfssl >/dev/null && command -v cfssljson >/dev/null; then
  interop cfssl cfssl_pki "Lab cfssl Intermediate"
else
  skip "cfssl is not installed (Debian's golang-cfssl; tools/lib/deps.sh installs it with the test set)"
fi

echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
