#!/usr/bin/env bash
# trex-audit on a large trail: show (table, csv), stats and verify of N
# records (default 1,000,000), and --follow's latency from a record's write
# to its line on the follower's stdout. Prints one "name seconds" line per
# figure (medians of 3 runs) and the latency line. Called by tools/bench.sh;
# runs alone too: tests/bench/review_bench.sh BUILD_DIR [N]
# A benchmark only: no timed assertions.
set -euo pipefail
BIN=${1:?usage: review_bench.sh BUILD_DIR [N]} N=${2:-1000000}
T=$(mktemp -d "${TMPDIR:-/tmp}/trex-review-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BIN/tests/review_bench" trail "$N" "$T" >/dev/null
echo "trail $(wc -l <"$T/audit.jsonl") records, $(($(stat -c %s "$T/audit.jsonl") >> 20)) MiB"
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
figure() {  # figure NAME CMD...: the median wall time of 3 runs, in seconds
  local name=$1 runs=() t0
  shift
  for _ in 1 2 3; do
    t0=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || { echo "$name failed"; return; }
    runs+=("$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')")
  done
  echo "$name $(median "${runs[@]}")"
}
A=$BIN/trex-audit
figure show "$A" show "$T/audit.jsonl"
figure show-csv "$A" show --format csv "$T/audit.jsonl"
figure show-events "$A" show --events "$T/audit.jsonl"
figure show-filtered "$A" show --client user7 --status failed "$T/audit.jsonl"
figure stats "$A" stats "$T/audit.jsonl"
figure verify "$A" verify "$T/audit.jsonl"
mkdir "$T/follow"
"$BIN/tests/review_bench" follow "$A" "$T/follow" 200
