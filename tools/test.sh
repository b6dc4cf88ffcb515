#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (ctest).
#   tools/test.sh          release build (release-asm when wolfSSL's assembly
#                          builds here): unit, integration, script tests
#   tools/test.sh --all    also the asan (ASan+UBSan) and tsan presets (every
#                          test) and the fuzz preset's smoke runs (fuzz_*)
#   tools/test.sh --soak   also the long soak tests (TREX_SOAK=1)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/lib/deps.sh

all=0
for arg in "$@"; do
  case "$arg" in
    --all) all=1 ;;
    --soak) export TREX_SOAK=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

trex_install_deps build test
jobs=$(nproc)

# run_preset PRESET [ctest args...]: configure, build and test one preset.
# The caller's environment (e.g. *SAN_OPTIONS) reaches the tests.
run_preset() {
  local preset=$1
  shift
  echo "== preset $preset"
  cmake --preset "$preset" >/dev/null &&
    cmake --build --preset "$preset" -j "$jobs" &&
    ctest --test-dir "build/$preset" --output-on-failure -j "$jobs" --timeout 600 "$@"
}

# The preset the quickstart builds: release-asm when wolfSSL with its
# assembly can be built here, else release (see tools/lib/deps.sh).
main_preset=$(trex_default_preset)

if ((!all)); then
  run_preset "$main_preset"
  exit
fi

# --all: every preset runs even when an earlier one fails; the summary says
# which failed. Sanitizers stop at the first finding (halt_on_error), and the
# integration tests scale their timeouts (TREX_TEST_TIME_SCALE) because the
# sanitized trexd and trex are several times slower.
failed=()
summary=()
step() {
  local preset=$1 t0=$SECONDS
  shift
  if "$@"; then
    summary+=("$(printf '  %-11s passed  (%d s)' "$preset" $((SECONDS - t0)))")
  else
    summary+=("$(printf '  %-11s FAILED  (%d s)' "$preset" $((SECONDS - t0)))")
    failed+=("$preset")
    echo "== preset $preset FAILED" >&2
  fi
}
asan() {
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    TREX_TEST_TIME_SCALE=3 run_preset asan
}
tsan() {
  TSAN_OPTIONS=second_deadlock_stack=1:halt_on_error=1 TREX_TEST_TIME_SCALE=5 run_preset tsan
}
fuzz_smoke() {
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_preset fuzz -R '^fuzz_'
}
step "$main_preset" run_preset "$main_preset"
step asan asan
step tsan tsan
step fuzz fuzz_smoke

echo "== summary"
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "test.sh --all: FAILED presets: ${failed[*]}" >&2
  exit 1
fi
echo "test.sh --all: all presets passed"
