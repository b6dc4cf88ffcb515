#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (ctest).
#   tools/test.sh          release build: unit, integration, script tests
#   tools/test.sh --all    also the asan (ASan+UBSan), tsan and fuzz presets
#   tools/test.sh --soak   also the long soak tests (TREX_SOAK=1)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/deps.sh

all=0
for arg in "$@"; do
  case "$arg" in
    --all) all=1 ;;
    --soak) export TREX_SOAK=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

trex_install_deps build test
jobs=$(nproc)

run_preset() {
  local preset=$1
  echo "== preset $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --test-dir "build/$preset" --output-on-failure -j "$jobs" --timeout 600
}

run_preset release
if ((all)); then
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_preset asan
  TSAN_OPTIONS=second_deadlock_stack=1 run_preset tsan
  run_preset fuzz
fi
