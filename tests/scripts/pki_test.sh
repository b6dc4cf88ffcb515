#!/usr/bin/env bash
# shellcheck disable=SC2016  # the bash -c '...' checks get their arguments as $1...
# Tests tools/pki (the CA script) with the real openssl CLI.
#   bash tests/scripts/pki_test.sh      (TREX_PKI_SCRIPT overrides the script)
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=${TREX_PKI_SCRIPT:-$here/../../tools/pki}
PKI=$(cd "$(dirname "$PKI")" && pwd)/$(basename "$PKI")
[[ -x $PKI ]] || { echo "FAIL: $PKI is missing or not executable" >&2; exit 1; }
unset TREX_PKI

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work"

passed=0
fail() {
  printf 'FAIL: %s\n' "$1" >&2
  if [[ -s $work/out || -s $work/err ]]; then
    printf -- '--- last stdout:\n%s\n--- last stderr:\n%s\n' "$(cat "$work/out" 2>/dev/null)" "$(cat "$work/err" 2>/dev/null)" >&2
  fi
  printf '%d passed, 1 failed\n' "$passed"
  exit 1
}
check() {  # check DESCRIPTION COMMAND...: COMMAND must succeed
  local what=$1
  shift
  if "$@" >"$work/check.out" 2>&1; then passed=$((passed + 1)); else fail "$what: $(head -c 2000 "$work/check.out")"; fi
}

# run ARGS...: run the script, stdout in $work/out, stderr in $work/err, exit code in $rc.
run() { rc=0; "$PKI" "$@" >"$work/out" 2>"$work/err" || rc=$?; }
# ok DESCRIPTION ARGS...: the script must succeed.
ok() {
  local what=$1
  shift
  run "$@"
  ((rc == 0)) || fail "$what: '$*' exited $rc: $(cat "$work/err")"
  passed=$((passed + 1))
}
# refused DESCRIPTION CODE PATTERN ARGS...: the script must fail with exit CODE
# ("any" = any non-zero), one stderr line "pki: ..." matching PATTERN (grep -E).
refused() {
  local what=$1 code=$2 pattern=$3
  shift 3
  run "$@"
  ((rc != 0)) || fail "$what: '$*' succeeded"
  [[ $code == any || $rc == "$code" ]] || fail "$what: '$*' exited $rc, expected $code"
  [[ $(wc -l <"$work/err") -ge 1 ]] || fail "$what: no message on stderr"
  tail -n1 "$work/err" | grep -q '^pki: ' || fail "$what: last stderr line does not start with 'pki: ': $(cat "$work/err")"
  grep -Eq -- "$pattern" "$work/err" || fail "$what: stderr does not match /$pattern/: $(cat "$work/err")"
  passed=$((passed + 1))
}

text() { openssl x509 -in "$1" -noout -text; }
has() { grep -Eq -- "$2" <<<"$1"; }          # has TEXT REGEX
hasnt() { ! grep -Eq -- "$2" <<<"$1"; }
mode() { stat -c %a "$1"; }
keytype() { openssl pkey -in "$1" -noout -text 2>/dev/null | head -n1; }
epoch() { date -u -d "$1" +%s; }
crl_next() { local t; t=$(openssl crl -in "$1" -noout -nextupdate); epoch "${t#nextUpdate=}"; }
serial_of() { local s; s=$(openssl x509 -in "$1" -noout -serial); printf '%s' "${s#serial=}"; }
now=$(date +%s)

# ---------------------------------------------------------------- init --
D=$work/ca1
ok "init" init --dir "$D"
check "init prints where the CA is" grep -q "$D" "$work/out"
for f in ca.crt private/ca.key crl.pem index.txt serial issued; do
  check "init creates $f" test -e "$D/$f"
done
check "private dir is 0700" test "$(mode "$D/private")" = 700
check "ca.key is 0600" test "$(mode "$D/private/ca.key")" = 600
ca_text=$(text "$D/ca.crt")
check "CA has CA:TRUE" has "$ca_text" 'CA:TRUE'
check "CA basicConstraints critical" has "$ca_text" 'Basic Constraints: critical'
check "CA keyUsage keyCertSign,cRLSign" has "$ca_text" 'Certificate Sign, CRL Sign'
check "CA has a subject key id" has "$ca_text" 'Subject Key Identifier'
check "CA default CN" has "$ca_text" 'Subject: CN ?= ?trex lab CA'
check "CA key is Ed25519 by default" has "$ca_text" 'Public Key Algorithm: ED25519'
check "ca.key is Ed25519" has "$(keytype "$D/private/ca.key")" 'ED25519'
ca_end=$(openssl x509 -in "$D/ca.crt" -noout -enddate)
ca_end=$(epoch "${ca_end#notAfter=}")
check "CA valid ~3650 days" test $(((ca_end - now) / 86400)) -ge 3649 -a $(((ca_end - now) / 86400)) -le 3650
crl_text=$(openssl crl -in "$D/crl.pem" -noout -text)
check "init writes an empty CRL" has "$crl_text" 'No Revoked Certificates'
check "the CRL is signed by the CA" openssl crl -in "$D/crl.pem" -noout -CAfile "$D/ca.crt"
next=$(crl_next "$D/crl.pem")
check "init CRL valid ~30 days" test $(((next - now + 3600) / 86400)) -eq 30

# init twice: refused, nothing changed
before=$(cd "$D" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
refused "init twice" 1 'already exists.*refusing' init --dir "$D"
refused "init twice with another algo" 1 'already exists' init --dir "$D" --algo rsa --cn other
after=$(cd "$D" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
check "init twice leaves the files unchanged" test "$before" = "$after"

# init in an existing, non-empty folder (the repo's pki/ holds a README)
mkdir -p "$work/withreadme" && echo keep >"$work/withreadme/README.md"
ok "init in a folder that has other files" init --dir "$work/withreadme" --cn "Lab / CA+1"
check "other files are kept" grep -q keep "$work/withreadme/README.md"
check "a CN with / and + is kept verbatim" has "$(openssl x509 -in "$work/withreadme/ca.crt" -noout -subject -nameopt sep_multiline,lname,utf8)" 'commonName=Lab / CA\+1$'

# -------------------------------------------------------------- server --
ok "server" server srv --dir "$D"
check "server key is 0600" test "$(mode "$D/private/srv.key")" = 600
check "private dir still 0700" test "$(mode "$D/private")" = 700
srv=$(text "$D/issued/srv.crt")
check "server EKU serverAuth" has "$srv" 'TLS Web Server Authentication'
check "server EKU lacks clientAuth" hasnt "$srv" 'TLS Web Client Authentication'
check "server default SAN is its name only" has "$srv" 'DNS:srv$'
check "server default SANs lack loopback names" hasnt "$srv" 'localhost|127\.0\.0\.1'
check "server CA:FALSE" has "$srv" 'CA:FALSE'
check "server keyUsage digitalSignature only (ed25519)" has "$srv" '^ +Digital Signature$'
check "server has SKI" has "$srv" 'Subject Key Identifier'
check "server has AKI" has "$srv" 'Authority Key Identifier'
check "server CN" has "$srv" 'Subject: CN ?= ?srv'
check "server key Ed25519 (CA's algo)" has "$srv" 'Public Key Algorithm: ED25519'
srv_end=$(openssl x509 -in "$D/issued/srv.crt" -noout -enddate)
srv_end=$(epoch "${srv_end#notAfter=}")
check "server valid ~365 days" test $(((srv_end - now + 3600) / 86400)) -eq 365
check "server verifies against the CA" openssl verify -CAfile "$D/ca.crt" -purpose sslserver "$D/issued/srv.crt"
check "server verifies with the CRL" openssl verify -crl_check -CAfile "$D/ca.crt" -CRLfile "$D/crl.pem" "$D/issued/srv.crt"
check "server key matches its certificate" test \
  "$(openssl pkey -in "$D/private/srv.key" -pubout)" = "$(openssl x509 -in "$D/issued/srv.crt" -noout -pubkey)"

ok "server --san" server web --san DNS:web.lab,DNS:*.web.lab,IP:10.0.0.5,IP:fd00::5 --dir "$D" --days 10
web=$(text "$D/issued/web.crt")
check "--san replaces the defaults" has "$web" 'DNS:web.lab, DNS:\*.web.lab, IP Address:10.0.0.5, IP Address:FD00:0:0:0:0:0:0:5$'
check "--san drops localhost" hasnt "$web" 'localhost'
ok "server --loopback" server lo --loopback --dir "$D"
check "--loopback adds localhost and the loopback addresses" has "$(text "$D/issued/lo.crt")" 'DNS:lo, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1$'
ok "server --san --loopback" server lo2 --san DNS:lo2.lab --loopback --dir "$D"
check "--loopback adds to --san" has "$(text "$D/issued/lo2.crt")" 'DNS:lo2.lab, DNS:localhost, IP Address:127.0.0.1'
web_end=$(openssl x509 -in "$D/issued/web.crt" -noout -enddate)
web_end=$(epoch "${web_end#notAfter=}")
check "server --days 10" test $(((web_end - now + 3600) / 86400)) -eq 10

# -------------------------------------------------------------- client --
ok "client with OU" client alice --ou ops --dir "$D"
alice=$(text "$D/issued/alice.crt")
check "client EKU clientAuth" has "$alice" 'TLS Web Client Authentication'
check "client EKU lacks serverAuth" hasnt "$alice" 'TLS Web Server Authentication'
check "client CN and OU" has "$(openssl x509 -in "$D/issued/alice.crt" -noout -subject -nameopt sep_multiline,lname)" 'organizationalUnitName=ops'
check "client CN" has "$(openssl x509 -in "$D/issued/alice.crt" -noout -subject -nameopt sep_multiline,lname)" 'commonName=alice'
check "client CA:FALSE" has "$alice" 'CA:FALSE'
check "client has SKI/AKI" has "$alice" 'Authority Key Identifier'
check "client key 0600" test "$(mode "$D/private/alice.key")" = 600
check "client verifies against the CA" openssl verify -CAfile "$D/ca.crt" -purpose sslclient "$D/issued/alice.crt"
ok "client without OU" client bob --dir "$D"
check "client without OU has no OU" hasnt "$(openssl x509 -in "$D/issued/bob.crt" -noout -subject)" 'OU'

ok "client --algo ec of an ed25519 CA" client carol --algo ec --dir "$D"
check "ec client key is P-256" has "$(text "$D/issued/carol.crt")" 'ASN1 OID: prime256v1'
check "ec client private key" has "$(keytype "$D/private/carol.key")" 'Private-Key: \(256 bit'
check "ec client signed by the ed25519 CA" has "$(text "$D/issued/carol.crt")" 'Signature Algorithm: ED25519'
check "ec client verifies" openssl verify -CAfile "$D/ca.crt" "$D/issued/carol.crt"
ok "client --algo rsa of an ed25519 CA" client dave --algo rsa --dir "$D"
dave=$(text "$D/issued/dave.crt")
check "rsa client key is 3072-bit" has "$dave" 'Public-Key: \(3072 bit\)'
check "rsa client keyUsage adds keyEncipherment" has "$dave" 'Digital Signature, Key Encipherment'
check "rsa client verifies" openssl verify -CAfile "$D/ca.crt" "$D/issued/dave.crt"

# ---------------------------------------------------- other CA algorithms --
for algo in ec rsa; do
  A=$work/ca-$algo
  ok "init --algo $algo" init --dir "$A" --algo "$algo" --cn "$algo CA" --days 100
  t=$(text "$A/ca.crt")
  if [[ $algo == ec ]]; then
    check "ec CA is P-256" has "$t" 'ASN1 OID: prime256v1'
    check "ec CA signs with ECDSA-SHA256" has "$t" 'ecdsa-with-SHA256'
  else
    check "rsa CA is 3072-bit" has "$t" 'Public-Key: \(3072 bit\)'
    check "rsa CA signs with SHA-256" has "$t" 'sha256WithRSAEncryption'
  fi
  check "$algo CA --cn" has "$t" "Subject: CN ?= ?$algo CA"
  e=$(openssl x509 -in "$A/ca.crt" -noout -enddate)
  e=$(epoch "${e#notAfter=}")
  check "$algo CA --days 100" test $(((e - now + 3600) / 86400)) -eq 100
  ok "$algo server" server s1 --dir "$A"
  ok "$algo client" client c1 --dir "$A"
  if [[ $algo == ec ]]; then
    check "ec client defaults to the CA's algo" has "$(text "$A/issued/c1.crt")" 'prime256v1'
  else
    check "rsa client defaults to the CA's algo" has "$(text "$A/issued/c1.crt")" 'rsaEncryption'
  fi
  check "$algo server verifies" openssl verify -CAfile "$A/ca.crt" "$A/issued/s1.crt"
  ok "$algo revoke" revoke c1 --dir "$A"
  check "$algo CRL lists the revoked serial" has "$(openssl crl -in "$A/crl.pem" -noout -text)" "Serial Number: $(serial_of "$A/revoked/"c1-*.crt)"
  check "$algo CRL verifies" openssl crl -in "$A/crl.pem" -noout -CAfile "$A/ca.crt"
done

# -------------------------------------------------------------- revoke --
bob_serial=$(serial_of "$D/issued/bob.crt")
cp "$D/issued/bob.crt" "$work/bob-old.crt"
ok "revoke" revoke bob --dir "$D"
check "revoke says what it did" grep -q "$bob_serial" "$work/out"
crl_text=$(openssl crl -in "$D/crl.pem" -noout -text)
check "the CRL lists the revoked serial" has "$crl_text" "Serial Number: $bob_serial"
check "the CRL does not list others" hasnt "$crl_text" "Serial Number: $(serial_of "$D/issued/alice.crt")\$"
check "revoked certificate fails verify -crl_check" \
  bash -c '! openssl verify -crl_check -CAfile "$1" -CRLfile "$2" "$3" >/dev/null 2>&1' _ "$D/ca.crt" "$D/crl.pem" "$work/bob-old.crt"
check "and the failure is 'certificate revoked'" \
  bash -c 'openssl verify -crl_check -CAfile "$1" -CRLfile "$2" "$3" 2>&1 | grep -q "certificate revoked"' _ "$D/ca.crt" "$D/crl.pem" "$work/bob-old.crt"
check "a valid certificate still passes -crl_check" openssl verify -crl_check -CAfile "$D/ca.crt" -CRLfile "$D/crl.pem" "$D/issued/alice.crt"
check "revoked files moved aside" test ! -e "$D/issued/bob.crt" -a ! -e "$D/private/bob.key"
check "revoked key kept 0600" test "$(mode "$D/revoked/bob-$bob_serial.key")" = 600
check "revoked folder 0700" test "$(mode "$D/revoked")" = 700
next=$(crl_next "$D/crl.pem")
check "revoke keeps the CRL at 30 days" test $(((next - now + 3600) / 86400)) -eq 30
ok "re-issue after revoke" client bob --dir "$D" --ou ops
check "the new certificate has a new serial" test "$(serial_of "$D/issued/bob.crt")" != "$bob_serial"
check "the new certificate passes -crl_check" openssl verify -crl_check -CAfile "$D/ca.crt" -CRLfile "$D/crl.pem" "$D/issued/bob.crt"
ok "list after revoke" list --dir "$D"
check "list shows the revoked serial as revoked" grep -Eq "^bob +$bob_serial +revoked " "$work/out"
check "list shows the new bob as valid" grep -Eq "^bob +$(serial_of "$D/issued/bob.crt") +valid " "$work/out"
check "list shows the CRL nextUpdate" grep -q '^CRL nextUpdate: ' "$work/out"
check "list has no warning for a fresh PKI" bash -c '! grep -q "^warning:" "$1"' _ "$work/out"

# ----------------------------------------------------------------- crl --
ok "crl --days 2" crl --days 2 --dir "$D"
next=$(crl_next "$D/crl.pem")
check "crl --days 2 sets nextUpdate 2 days out" test $(((next - now + 3600) / 86400)) -eq 2
check "the new CRL still lists the revoked serial" has "$(openssl crl -in "$D/crl.pem" -noout -text)" "Serial Number: $bob_serial"
ok "list with a CRL expiring soon" list --dir "$D"
check "list warns about the CRL" grep -Eq '^warning: .*CRL.*7 days' "$work/out"
ok "crl (default)" crl --dir "$D"
next=$(crl_next "$D/crl.pem")
check "crl defaults to 30 days" test $(((next - now + 3600) / 86400)) -eq 30
ok "crl --lastupdate/--nextupdate (testing)" crl --dir "$D" --lastupdate 20200101000000Z --nextupdate 20200201000000Z
check "the CRL nextUpdate is the given time" test "$(openssl crl -in "$D/crl.pem" -noout -nextupdate)" = 'nextUpdate=Feb  1 00:00:00 2020 GMT'
check "the CRL lastUpdate is the given time" test "$(openssl crl -in "$D/crl.pem" -noout -lastupdate)" = 'lastUpdate=Jan  1 00:00:00 2020 GMT'
ok "list with a stale CRL" list --dir "$D"
check "list says the CRL EXPIRED" grep -Eq '^warning: .*CRL.*EXPIRED' "$work/out"
check "openssl rejects the stale CRL" \
  bash -c '! openssl verify -crl_check -CAfile "$1" -CRLfile "$2" "$3" >/dev/null 2>&1' _ "$D/ca.crt" "$D/crl.pem" "$D/issued/alice.crt"
ok "crl again" crl --dir "$D"

# ------------------------------------------------------ expiry (testing) --
ok "expired client via --start/--end" client old --dir "$D" --start 20200101000000Z --end 20200201000000Z
check "notBefore is --start" test "$(openssl x509 -in "$D/issued/old.crt" -noout -startdate)" = 'notBefore=Jan  1 00:00:00 2020 GMT'
check "notAfter is --end" test "$(openssl x509 -in "$D/issued/old.crt" -noout -enddate)" = 'notAfter=Feb  1 00:00:00 2020 GMT'
check "openssl refuses the expired certificate" \
  bash -c 'openssl verify -CAfile "$1" "$2" 2>&1 | grep -q "certificate has expired"' _ "$D/ca.crt" "$D/issued/old.crt"
ok "not-yet-valid client via --start" client later --dir "$D" --start 20990101000000Z --end 20991231000000Z
check "openssl refuses the not-yet-valid certificate" \
  bash -c 'openssl verify -CAfile "$1" "$2" 2>&1 | grep -q "not yet valid"' _ "$D/ca.crt" "$D/issued/later.crt"
ok "client expiring in 3 days" client soon --dir "$D" --days 3
ok "list with expired and expiring certificates" list --dir "$D"
old_serial=$(serial_of "$D/issued/old.crt")
check "list shows the expired certificate as expired" grep -Eq "^old +$old_serial +expired +2020-02-01" "$work/out"
check "list shows the future certificate as not yet valid" grep -Eq '^later +[0-9A-F]+ +not-yet-valid ' "$work/out"
check "list warns that old EXPIRED" grep -Eq '^warning: .*old.*EXPIRED' "$work/out"
check "list warns that soon expires within 7 days" grep -Eq '^warning: .*soon.*7 days' "$work/out"
check "list does not warn about the CRL" bash -c '! grep -q "^warning: .*CRL" "$1"' _ "$work/out"
ok "an expired name can be issued again" client old --dir "$D"
check "the expired files moved aside" test -e "$D/expired/old-$old_serial.crt"
check "the re-issued certificate is valid" openssl verify -CAfile "$D/ca.crt" "$D/issued/old.crt"

# -------------------------------------------------------------- errors --
refused "no command" 2 'no command' 
refused "unknown command" 2 "unknown command 'frobnicate'" frobnicate
refused "unknown option" 2 "unknown option '--frob'" list --dir "$D" --frob
refused "option of another command" 2 "unknown option '--san'" client x --san DNS:x --dir "$D"
refused "unknown short option" 2 "unknown option" list -x --dir "$D"
refused "missing option value" 2 'needs a value' client x --dir "$D" --ou
refused "missing --dir value" 2 'needs a value' list --dir
refused "missing NAME" 2 'needs a NAME' server --dir "$D"
refused "extra argument" 2 "unexpected argument 'y'" client x y --dir "$D"
refused "missing PKI" 1 "no PKI in $work/nothing: run 'tools/pki init --dir $work/nothing' first" list --dir "$work/nothing"
refused "missing PKI (server)" 1 'no PKI in' server x --dir "$work/nothing"
check "a failed command creates no PKI dir" test ! -e "$work/nothing"
refused "name issued twice" 1 'a certificate named alice already exists.*revoke it first' client alice --dir "$D"
refused "server name issued twice" 1 'already exists' server srv --dir "$D"
refused "revoke unknown name" 1 'no certificate named nobody' revoke nobody --dir "$D"
ok "revoke web" revoke web --dir "$D"
refused "revoke twice" 1 'no certificate named web' revoke web --dir "$D"
for bad in ../evil ../../etc/passwd a/b .hidden -dash '' 'sp ace' 'x;y' "$(printf 'a%.0s' {1..65})"; do
  refused "invalid name '$bad'" any 'invalid name|unknown option|needs a NAME' client "$bad" --dir "$D"
done
refused "path traversal in revoke" any 'invalid name' revoke ../ca --dir "$D"
refused "the CA's name is reserved" any 'reserved' client ca --dir "$D"
check "nothing was written outside the PKI" test ! -e "$work/evil.crt" -a ! -e "$D/evil.key" -a ! -e "$work/ca1/private/../evil.key"
for bad in 0 -1 abc 1.5 ''; do
  refused "invalid --days '$bad'" any 'invalid --days|needs a value|unknown option' client daysbad --days "$bad" --dir "$D"
done
refused "invalid crl --days" any 'invalid --days' crl --days 0 --dir "$D"
refused "invalid init --days" any 'invalid --days' init --days x --dir "$work/new"
for bad in foo DNS: IP:1.2.3 IP:256.1.1.1 'DNS:a b' URI:http://x email:a@b 'DNS:a,,DNS:b' 'DNS:a,'; do
  refused "invalid --san '$bad'" any 'invalid --san' server sanbad --san "$bad" --dir "$D"
done
refused "invalid --algo" 2 "invalid --algo 'dsa'" init --algo dsa --dir "$work/new"
refused "invalid --ou" 2 'invalid --ou' client oubad --ou 'a/b' --dir "$D"
refused "invalid --start" 2 'invalid --start' client tbad --start 2020-01-01 --dir "$D"
refused "invalid --end" 2 'invalid --end' client tbad --end 20201301000000Z --dir "$D"
refused "--end before --start" 2 'later than --start' client tbad --start 20300101000000Z --end 20200101000000Z --dir "$D"
refused "invalid --nextupdate" 2 'invalid --nextupdate' crl --nextupdate tomorrow --dir "$D"
check "no key or certificate left by refused commands" \
  test ! -e "$D/private/daysbad.key" -a ! -e "$D/private/sanbad.key" -a ! -e "$D/issued/tbad.crt" -a ! -e "$work/new"
check "no temporary folders left behind" bash -c '! ls -d "$1"/.pki-tmp.* >/dev/null 2>&1' _ "$D"

# -------------------------------------------------------------- help --
ok "--help" --help
check "--help lists the commands" grep -q 'revoke NAME' "$work/out"
check "--help documents the testing options" grep -q 'for testing expiry' "$work/out"
ok "server --help" server --help
check "server --help shows server usage" grep -q 'usage: .*server NAME' "$work/out"
ok "crl --help" crl --help
check "crl --help shows --nextupdate" grep -q -- '--nextupdate' "$work/out"

# ------------------------------------------- TREX_PKI, cwd and symlinks --
mkdir -p "$work/cwd"
(cd "$work/cwd" && TREX_PKI="$work/envpki" "$PKI" init --algo ec >/dev/null 2>&1)
check "TREX_PKI is honoured by init" test -f "$work/envpki/ca.crt"
(cd "$work/cwd" && TREX_PKI="$work/envpki" "$PKI" client envc >/dev/null 2>&1)
check "TREX_PKI is honoured by client (and its algo kept)" has "$(text "$work/envpki/issued/envc.crt")" 'prime256v1'
(cd "$work/cwd" && TREX_PKI="$work/envpki" "$PKI" client flagc --dir "$work/flagpki" >/dev/null 2>&1) || true
check "--dir wins over TREX_PKI" test ! -e "$work/envpki/issued/flagc.crt"
(cd "$work/cwd" && "$PKI" init >/dev/null 2>&1)
check "the default DIR is ./pki" test -f "$work/cwd/pki/ca.crt" -a -f "$work/cwd/pki/private/ca.key"
ln -s "$PKI" "$work/trex-pki"
(cd / && "$work/trex-pki" server viasymlink --dir "$work/cwd/pki" >/dev/null 2>&1)
check "works through a symlink from another directory" test -f "$work/cwd/pki/issued/viasymlink.crt"
(cd "$work/cwd" && "$work/trex-pki" list >"$work/out" 2>&1)
check "list through the symlink" grep -Eq '^viasymlink +[0-9A-F]+ +valid' "$work/out"

# ---------------------------------- two levels: offline root + intermediate --
T=$work/twolevel
(cd "$work" && "$PKI" init --intermediate --dir twolevel >"$work/out" 2>"$work/err") ||
  fail "init --intermediate (relative --dir): $(cat "$work/err")"
passed=$((passed + 1))
check "ca.crt is the self-signed root" bash -c 'openssl verify -CAfile "$1/ca.crt" "$1/ca.crt"' _ "$T"
check "the intermediate has path length 0 and signs certificates and CRLs" \
  bash -c 'openssl x509 -in "$1/intermediate.crt" -noout -text | grep -q "CA:TRUE, pathlen:0" &&
           openssl x509 -in "$1/intermediate.crt" -noout -text | grep -q "Certificate Sign, CRL Sign"' _ "$T"
check "the root key is apart, 0600" test "$(mode "$T/root/private/ca.key")" = 600
ok "client under the intermediate" client tl-alice --dir "$T"
check "a client file holds leaf + intermediate" test "$(grep -c 'BEGIN CERTIFICATE' "$T/issued/tl-alice.crt")" = 2
check "the chain verifies with both CRLs" openssl verify -crl_check_all -CRLfile "$T/crl.pem" \
  -CAfile "$T/ca.crt" -untrusted "$T/intermediate.crt" "$T/issued/tl-alice.crt"
check "one CRL per CA in crls/" bash -c 'openssl crl -in "$1/crls/root.pem" -noout -issuer | grep -q "root CA" &&
  openssl crl -in "$1/crls/intermediate.pem" -noout -issuer | grep -q "issuing CA"' _ "$T"
cp "$T/issued/tl-alice.crt" "$work/tl-alice.crt"
ok "revoke under the intermediate" revoke tl-alice --dir "$T"
check "the revoked client fails with both CRLs" bash -c '! openssl verify -crl_check_all -CRLfile "$1/crl.pem" \
  -CAfile "$1/ca.crt" -untrusted "$1/intermediate.crt" "$2" >/dev/null 2>&1' _ "$T" "$work/tl-alice.crt"
ok "list" list --dir "$T"
check "list shows the chain" grep -Eq '^chain: root "trex lab root CA" -> intermediate "trex lab issuing CA" \(serial [0-9A-F]+, valid' "$work/out"
check "list shows the root's CRL" grep -q "^root CA's CRL nextUpdate: " "$work/out"
mv "$T/root/private" "$work/rootkey"
refused "crl --root needs the root key" 1 'root key .* is not here' crl --root --dir "$T"
ok "the intermediate's CRL needs no root key" crl --dir "$T"
mv "$work/rootkey" "$T/root/private"
ok "crl --root" crl --root --days 90 --dir "$T"
check "crl.pem holds both CRLs" test "$(grep -c 'BEGIN X509 CRL' "$T/crl.pem")" = 2
ok "revoke --intermediate" revoke --intermediate --dir "$T"
check "the intermediate is revoked on the root's CRL" bash -c '! openssl verify -crl_check_all -CRLfile "$1/crl.pem" \
  -CAfile "$1/ca.crt" "$1/intermediate.crt" >/dev/null 2>&1' _ "$T"
refused "revoke NAME --intermediate" 2 'not both' revoke x --intermediate --dir "$T"
refused "--root-cn without --intermediate" 2 'needs --intermediate' init --root-cn R --dir "$work/nope"

printf '%d passed, 0 failed\n' "$passed"
