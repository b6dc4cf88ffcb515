#!/usr/bin/env bash
# Tests tools/pki request and sign: a person's key never leaves their
# machine, and the CA refuses a request that asks for more than it grants.
# CSRs come from plain `openssl req` as well as from tools/pki request.
#   bash tests/scripts/pki_csr_test.sh      (TREX_PKI_SCRIPT overrides the script)
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=${TREX_PKI_SCRIPT:-$here/../../tools/pki}
unset TREX_PKI XDG_CONFIG_HOME
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work"
export HOME=$work/home

passed=0
fail() { printf 'FAIL: %s\n--- stderr:\n%s\n' "$1" "$(cat "$work/err" 2>/dev/null)" >&2; exit 1; }
run() { rc=0; "$PKI" "$@" >"$work/out" 2>"$work/err" || rc=$?; }
ok() { local what=$1; shift; run "$@"; ((rc == 0)) || fail "$what: exit $rc"; passed=$((passed + 1)); }
refused() {  # refused DESCRIPTION NEEDLE ARGS...: exit 1 or 2 and NEEDLE on stderr
  local what=$1 needle=$2
  shift 2
  run "$@"
  ((rc != 0)) || fail "$what: accepted"
  grep -qF -- "$needle" "$work/err" || fail "$what: no '$needle' in the message"
  passed=$((passed + 1))
}
csr() {  # csr NAME SUBJECT [openssl req -addext ...]: a CSR made by plain openssl
  local name=$1 subj=$2
  shift 2
  openssl req -new -newkey ed25519 -nodes -keyout "$work/$name.key" -subj "$subj" "$@" \
    -out "$work/$name.csr" 2>/dev/null
}

ok "init" init --dir ca

# request: the key in ~/.config/trex/client.key, 0600 in a 0700 folder.
ok "request" request alice --ou ops
[[ $(stat -c %a "$HOME/.config/trex/client.key") == 600 ]] || fail "the key is not 0600"
[[ $(stat -c %a "$HOME/.config/trex") == 700 ]] || fail "the folder is not 0700"
grep -q "sign alice.csr --client --ou ops" "$work/out" || fail "request does not say how to sign"
refused "a second request keeps the key" "exists" request alice
ok "sign tools/pki's request" sign "$HOME/.config/trex/alice.csr" --client --ou ops --dir ca
openssl x509 -in ca/issued/alice.crt -noout -subject | grep -q 'OU = ops, CN = alice' || fail "subject"
openssl verify -CAfile ca/ca.crt ca/issued/alice.crt >/dev/null || fail "alice.crt does not verify"
[[ ! -e ca/private/alice.key ]] || fail "the CA holds alice's key"
openssl x509 -in ca/issued/alice.crt -noout -pubkey | cmp -s - <(openssl pkey -in "$HOME/.config/trex/client.key" -pubout) ||
  fail "the certificate is not for alice's key"

# Plain openssl requests.
csr bob "/CN=bob"
ok "sign a plain openssl request" sign "$work/bob.csr" --client --dir ca
openssl x509 -in ca/issued/bob.crt -noout -ext extendedKeyUsage | grep -q 'TLS Web Client Authentication' ||
  fail "bob's EKU"
csr carol "/CN=carol" -addext "subjectAltName=DNS:carol.example"
refused "SANs on a client" "a client certificate carries none" sign "$work/carol.csr" --client --dir ca
csr dan "/CN=dan" -addext "basicConstraints=critical,CA:TRUE"
refused "a CA bit" "asks to be a CA" sign "$work/dan.csr" --client --dir ca
csr eve "/CN=eve" -addext "extendedKeyUsage=clientAuth,codeSigning"
refused "another EKU" "extended key usage 'Code Signing'" sign "$work/eve.csr" --client --dir ca
csr eve2 "/CN=eve2" -addext "extendedKeyUsage=serverAuth"
refused "serverAuth on a client" "TLS Web Server Authentication" sign "$work/eve2.csr" --client --dir ca
csr frank "/OU=admins/CN=frank"
refused "an OU the CA did not grant" "asks for OU=admins" sign "$work/frank.csr" --client --dir ca
refused "an OU other than the granted one" "asks for OU=admins" sign "$work/frank.csr" --client --ou ops --dir ca
csr web "/CN=web1" -addext "subjectAltName=DNS:web1,DNS:evil.example"
refused "a server SAN --san does not grant" "SAN DNS:evil.example" sign "$work/web.csr" --server --san DNS:web1 --dir ca
ok "a server request within --san" sign "$work/web.csr" --server --san DNS:web1,DNS:evil.example --dir ca
printf 'garbage\n' >"$work/bad.csr"
refused "not a CSR" "is not a certificate request" sign "$work/bad.csr" --client --dir ca
refused "sign needs a kind" "--client or --server" sign "$work/bob.csr" --dir ca
refused "a second --ou" "--ou given twice" client gina --ou a --ou b --dir ca
[[ ! -e ca/issued/gina.crt ]] || fail "gina was issued"

printf '%d passed, 0 failed\n' "$passed"
