#!/usr/bin/env bash
# Cheap checks of the benchmark driver itself (no servers, no timings):
# syntax, --help, an unknown option, and the first-byte helper.
# Not registered in ctest; run by hand: bash tests/bench/bench_smoke.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bash -n tools/bench.sh
tools/bench.sh --help | grep -q -- '--quick'
rc=0; tools/bench.sh --bogus 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || { echo "bench_smoke: --bogus gave exit $rc, want 2" >&2; exit 1; }
us=$(python3 tests/bench/first_byte.py sh -c 'echo x; sleep 0.2')
[[ "$us" =~ ^[0-9]+$ ]] || { echo "bench_smoke: first_byte.py printed '$us' us" >&2; exit 1; }
rc=0; python3 tests/bench/first_byte.py sh -c 'exit 3' 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] || { echo "bench_smoke: first_byte.py exit $rc, want 3" >&2; exit 1; }
us=$(python3 tests/bench/first_byte.py --stamped sh -c 'date +%s%N; sleep 0.2')
[[ "$us" =~ ^[0-9]+$ ]] && ((us < 1000000)) ||
  { echo "bench_smoke: first_byte.py --stamped printed '$us' us" >&2; exit 1; }
rc=0; python3 tests/bench/first_byte.py --stamped echo not-a-stamp >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { echo "bench_smoke: --stamped without a stamp gave exit $rc, want 1" >&2; exit 1; }
echo "bench_smoke: ok"
