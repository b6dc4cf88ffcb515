#!/usr/bin/env bash
# Tests the install rules: `cmake --install BUILD --prefix TMP` puts the
# programs, the PKI script, the example configuration and the systemd unit
# where the README says. BUILD is the folder of $TREXD_BIN (set by ctest).
#   TREXD_BIN=build/debug/trexd bash tests/scripts/install_test.sh
set -euo pipefail
export LC_ALL=C

[[ -n ${TREXD_BIN:-} && -x $TREXD_BIN ]] || { echo "FAIL: TREXD_BIN is not set or not executable" >&2; exit 1; }
build=$(cd "$(dirname "$TREXD_BIN")" && pwd)
[[ -f $build/cmake_install.cmake ]] || { echo "FAIL: $build is not a CMake build folder" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
prefix=$work/prefix

passed=0
fail() {
  printf 'FAIL: %s\n' "$1" >&2
  printf '%d passed, 1 failed\n' "$passed"
  exit 1
}
check() {  # check DESCRIPTION COMMAND...: COMMAND must succeed
  local what=$1
  shift
  if "$@" >"$work/check.out" 2>&1; then passed=$((passed + 1)); else fail "$what: $(head -c 2000 "$work/check.out")"; fi
}

check "cmake --install succeeds" cmake --install "$build" --prefix "$prefix"

for prog in trexd trex trex-audit trex-pki; do
  check "bin/$prog is installed and executable" test -x "$prefix/bin/$prog"
done
check "share/trex/trexd.example.toml is installed" test -s "$prefix/share/trex/trexd.example.toml"
check "share/trex/policy.example.toml is installed" test -s "$prefix/share/trex/policy.example.toml"
check "lib/systemd/system/trexd.service is installed" test -s "$prefix/lib/systemd/system/trexd.service"

# The installed programs run on their own.
check "installed trexd --version" "$prefix/bin/trexd" --version
check "installed trex --version" "$prefix/bin/trex" --version
check "installed trex-audit --help" "$prefix/bin/trex-audit" --help
check "installed trex-pki --help" "$prefix/bin/trex-pki" --help

# The installed example configuration is one trexd accepts (exit 1 is a
# failed certificate check, 2 a configuration trexd cannot read).
rc=0
(cd "$work" && "$prefix/bin/trexd" --config "$prefix/share/trex/trexd.example.toml" --check-config) \
  >"$work/out" 2>"$work/err" || rc=$?
((rc != 2)) || fail "the installed example configuration does not parse: $(cat "$work/err")"
passed=$((passed + 1))

# The unit starts trexd from where it is installed and reloads with SIGHUP.
unit=$prefix/lib/systemd/system/trexd.service
check "the unit runs trexd --config" grep -q '^ExecStart=.*/trexd --config ' "$unit"
check "the unit reloads with SIGHUP" grep -q '^ExecReload=.*-HUP' "$unit"
check "the unit checks the configuration first" grep -q '^ExecStartPre=.*--check-config' "$unit"

if command -v systemd-analyze >/dev/null 2>&1; then
  # verify complains about the absolute ExecStart path not existing on this
  # machine; only a syntax problem in the unit itself fails the test.
  systemd-analyze verify "$unit" >"$work/verify" 2>&1 || true
  if grep -Ei 'unknown (key|section)|failed to parse|invalid' "$work/verify" | grep -v 'is not executable\|No such file'; then
    fail "systemd-analyze verify: $(cat "$work/verify")"
  fi
  passed=$((passed + 1))
fi

printf '%d passed, 0 failed\n' "$passed"
