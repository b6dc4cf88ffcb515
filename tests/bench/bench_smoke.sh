#!/usr/bin/env bash
# Cheap checks of the benchmark driver itself (no servers, no timings):
# syntax, --help, an unknown option, the first-byte and echo-latency helpers.
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
out=$(python3 tests/bench/echo_latency.py -n 20 sh -c 'echo ready; exec cat')
[[ "$out" =~ ^[0-9]+\ [0-9]+$ ]] || { echo "bench_smoke: echo_latency.py printed '$out'" >&2; exit 1; }
rc=0; python3 tests/bench/echo_latency.py -n 5 sh -c 'echo ready; sleep 0.1' 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || { echo "bench_smoke: echo_latency.py without an echo gave exit $rc, want 1" >&2; exit 1; }
echo "bench_smoke: ok"
