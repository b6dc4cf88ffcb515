#!/usr/bin/env bash
# tools/pki under concurrency and partial failure: runs on one PKI take turns
# (flock on the directory), so concurrent `client` runs never pair one run's
# key with another's certificate nor reuse a serial; a run that finds the PKI
# busy says so and waits; a revoke whose CRL step fails says how to finish,
# and running it again finishes it.
#   bash tests/scripts/pki_lock_test.sh      (TREX_PKI_SCRIPT overrides the script)
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKI=${TREX_PKI_SCRIPT:-$here/../../tools/pki}
PKI=$(cd "$(dirname "$PKI")" && pwd)/$(basename "$PKI")
unset TREX_PKI _TREX_PKI_LOCKED

work=$(mktemp -d)
holder=""
cleanup() {
  if [[ -n $holder ]]; then kill "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; fi
  rm -rf -- "$work"
}
trap cleanup EXIT
cd "$work"

passed=0
fail() { printf 'FAIL: %s\n' "$1" >&2; printf '%d passed, 1 failed\n' "$passed"; exit 1; }
pass() { passed=$((passed + 1)); }
# pki TAG ARGS...: run the script; stdout/stderr in $work/TAG.out/.err, exit code in $rc.
pki() { local tag=$1; shift; rc=0; bash "$PKI" "$@" >"$work/$tag.out" 2>"$work/$tag.err" || rc=$?; }
# expect_rc CODE WHAT TAG: the last run exited CODE.
expect_rc() { ((rc == $1)) || fail "$2 (exit $rc): $(cat "$work/$3.err")"; pass; }
# A stand-in for another run: holds the PKI's lock for 3 s.
hold_lock() { flock -x "$D" sleep 3 & holder=$!; sleep 0.5; }
pub_of_key() { openssl pkey -in "$1" -pubout; }
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey; }

D=$work/pki
bash "$PKI" init --dir "$D" >/dev/null || fail "init"

# ------------------------------------------------ one NAME, many runs at once --
# Unlocked, several runs pass the "already exists" check together and the
# last key and the last certificate to be moved into place need not match.
n=8
for i in $(seq "$n"); do
  bash "$PKI" client same --dir "$D" >"$work/same.$i.out" 2>"$work/same.$i.err" &
done
ok=0 refused=0
for i in $(seq "$n"); do
  if wait -n; then ok=$((ok + 1)); else refused=$((refused + 1)); fi
done
((ok == 1)) || fail "exactly one of $n concurrent 'client same' runs succeeds (got $ok): $(cat "$work"/same.*.err)"
pass
((refused == n - 1)) || fail "the other runs are refused (got $refused)"
pass
for i in $(seq "$n"); do
  if [[ -s $work/same.$i.err ]] && ! grep -q 'already exists\|waiting for another' "$work/same.$i.err"; then
    fail "a refused run says why: $(cat "$work/same.$i.err")"
  fi
done
pass
[[ $(pub_of_key "$D/private/same.key") == "$(pub_of_cert "$D/issued/same.crt")" ]] ||
  fail "the key of 'same' matches its certificate"
pass
[[ $(grep -c $'\t/CN=same$' "$D/index.txt") == 1 ]] || fail "index.txt holds one certificate for same: $(cat "$D/index.txt")"
pass

# ------------------------------------------- many NAMEs at once, and a CRL --
names=()
for i in $(seq 10); do names+=("u$i"); done
for nm in "${names[@]}"; do bash "$PKI" client "$nm" --dir "$D" >/dev/null 2>"$work/$nm.err" & done
bash "$PKI" crl --dir "$D" >/dev/null 2>"$work/crl.err" &
bash "$PKI" list --dir "$D" >"$work/list.out" 2>"$work/list.err" &
for _ in $(seq $((${#names[@]} + 2))); do wait -n || fail "a concurrent run failed: $(cat "$work"/*.err)"; done
pass
for nm in "${names[@]}"; do
  [[ $(pub_of_key "$D/private/$nm.key") == "$(pub_of_cert "$D/issued/$nm.crt")" ]] ||
    fail "the key of $nm matches its certificate"
  openssl verify -CAfile "$D/ca.crt" "$D/issued/$nm.crt" >/dev/null 2>&1 || fail "$nm verifies"
done
pass
serials=$(for nm in same "${names[@]}"; do openssl x509 -in "$D/issued/$nm.crt" -noout -serial; done)
[[ $(sort -u <<<"$serials" | wc -l) == 11 ]] || fail "every certificate has its own serial: $serials"
pass
[[ $(wc -l <"$D/index.txt") == 11 ]] || fail "index.txt has one line per certificate: $(cat "$D/index.txt")"
pass
openssl crl -in "$D/crl.pem" -noout -CAfile "$D/ca.crt" 2>/dev/null || fail "the CRL still verifies"
pass

# ------------------------------------------------ a busy PKI: wait, or give up --
hold_lock
pki w client waiter --dir "$D"
expect_rc 0 "a run waits for the lock and then succeeds" w
grep -q "^pki: waiting for another tools/pki run on $D to finish" "$work/w.err" ||
  fail "a waiting run says so: $(cat "$work/w.err")"
pass
wait "$holder" || true  # (killing flock would leave its sleep holding the lock)
hold_lock
TREX_PKI_LOCK_WAIT=1 pki g client gaveup --dir "$D"
expect_rc 1 "a run that cannot get the lock fails" g
grep -q "^pki: another tools/pki run has been using $D for 1s: nothing was changed" "$work/g.err" ||
  fail "it says the PKI is busy and nothing changed: $(cat "$work/g.err")"
pass
[[ ! -e $D/issued/gaveup.crt && ! -e $D/private/gaveup.key ]] || fail "nothing was issued"
pass
TREX_PKI_LOCK_WAIT=1 pki l list --dir "$D"
expect_rc 1 "list waits for a writer too" l
wait "$holder" || true
holder=""

# ------------------------------------- a revoke whose CRL step fails, finished --
bash "$PKI" client bob --dir "$D" >/dev/null
serial=$(openssl x509 -in "$D/issued/bob.crt" -noout -serial)
serial=${serial#serial=}
good=$(cat "$D/crlnumber")
echo garbage >"$D/crlnumber"  # openssl ca -gencrl cannot read it; -revoke does not need it
pki r revoke bob --dir "$D"
expect_rc 1 "revoke fails when the CRL cannot be written" r
last=$(tail -n1 "$work/r.err")
[[ $last == "pki: bob (serial $serial) is revoked in $D/index.txt, but the CRL was not rewritten: trexd still accepts it; fix the problem above and run 'tools/pki revoke bob --dir $D' again to finish" ]] ||
  fail "the failure says what is done and how to finish: $(cat "$work/r.err")"
pass
printf '%s\n' "$good" >"$D/crlnumber"
pki r2 revoke bob --dir "$D"
expect_rc 0 "running revoke again finishes it" r2
grep -q "already revoked in $D/index.txt (an earlier run stopped): finishing" "$work/r2.out" ||
  fail "the second run says it is finishing: $(cat "$work/r2.out")"
pass
openssl crl -in "$D/crl.pem" -noout -text | grep -q "Serial Number: $serial" || fail "bob is on the CRL"
pass
[[ ! -e $D/issued/bob.crt && -e $D/revoked/bob-$serial.crt ]] || fail "bob's files were moved to revoked/"
pass

# A CRL run that fails says the old CRL is still in force.
echo garbage >"$D/crlnumber"
pki c crl --dir "$D"
expect_rc 1 "crl fails with a broken crlnumber" c
tail -n1 "$work/c.err" | grep -q "^pki: $D/crl.pem was not rewritten (its next update is still .* UTC): fix the problem above and run 'tools/pki crl --dir $D' again" ||
  fail "a failed crl says the old one stays: $(cat "$work/c.err")"
pass

printf '%d passed\n' "$passed"
