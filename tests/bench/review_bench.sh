#!/usr/bin/env bash
# trex-audit on a large trail: show (table, csv, filtered), stats and verify
# of N records (default 1,000,000), and --follow's latency from a record's
# write to its line on the follower's stdout. Prints one line per figure,
# "name WALL_S CPU_S" (medians of 3 runs; CPU = user + system, which the
# machine's load does not inflate), then the latency line, and the load
# average before and after. Called by tools/bench.sh; runs alone too:
#   tests/bench/review_bench.sh BUILD_DIR [N] [BASE_TREX_AUDIT]
# With BASE_TREX_AUDIT (e.g. a build of an older commit), each run of
# BUILD_DIR's trex-audit alternates with one of the base on the same trail,
# and each line adds "base WALL_S CPU_S ratio CPU_RATIO" (this / base).
# A benchmark only: no timed assertions.
set -euo pipefail
BIN=${1:?usage: review_bench.sh BUILD_DIR [N] [BASE_TREX_AUDIT]} N=${2:-1000000} BASE=${3:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/trex-review-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
"$BIN/tests/review_bench" trail "$N" "$T" >/dev/null
echo "trail $(wc -l <"$T/audit.jsonl") records, $(($(stat -c %s "$T/audit.jsonl") >> 20)) MiB"
echo "load before $(cut -d' ' -f1-3 /proc/loadavg)"
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
# once BIN ARGS...: prints "WALL CPU" of one run; fails when the command does.
once() {
  local TIMEFORMAT='%R %U %S' t
  { t=$( { time "$@" >/dev/null 2>&1; } 2>&1 ); } || return 1
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' <<<"$t"
}
figure() {  # figure NAME ARGS...: 3 runs each of trex-audit (and the base), alternated
  local name=$1 a=() b=() ac=() bc=() r base=$BASE
  shift
  for _ in 1 2 3; do
    r=$(once "$BIN/trex-audit" "$@") || { echo "$name failed (exit status of trex-audit $*)"; return; }
    a+=("${r% *}") ac+=("${r#* }")
    if [ -n "$base" ]; then
      # A base that fails (an older bug) leaves the figure without a ratio.
      r=$(once "$base" "$@") || { base='' b=() bc=(); continue; }
      b+=("${r% *}") bc+=("${r#* }")
    fi
  done
  local line="$name $(median "${a[@]}") $(median "${ac[@]}")"
  if [ -n "$base" ]; then
    line+=" base $(median "${b[@]}") $(median "${bc[@]}")"
    line+=$(awk -v a="$(median "${a[@]}")" -v b="$(median "${b[@]}")" -v c="$(median "${ac[@]}")" \
      -v d="$(median "${bc[@]}")" 'BEGIN { printf " %.2f %.2f", a / b, c / d }')
  elif [ -n "$BASE" ]; then
    line+=" base failed"
  fi
  echo "$line"
}
F=$T/audit.jsonl
figure show show "$F"
figure show-csv show --format csv "$F"
figure show-events show --events "$F"
figure show-filtered show --client user7 --status failed "$F"
figure stats stats "$F"
figure verify verify "$F"
mkdir "$T/follow"
"$BIN/tests/review_bench" follow "$BIN/trex-audit" "$T/follow" 200
echo "load after $(cut -d' ' -f1-3 /proc/loadavg)"
