#!/usr/bin/env bash
# The man pages: `cmake --install` puts trex(1), trexd(8), trex-audit(1) and
# trex-pki(1) under share/man; each renders with `man -l` (and groff -ww)
# without a warning, and describes every option its program's --help lists,
# so a new flag without its documentation fails here.
#   TREXD_BIN=build/release-asm/trexd bash tests/scripts/man_test.sh
set -euo pipefail
export LC_ALL=C.UTF-8 MANWIDTH=80

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/help_options.sh"
build=$(build_dir)
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

passed=0
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
  fail "cmake --install: $(cat "$work/install.log")"
man_dir=$work/prefix/share/man
version=$("$work/prefix/bin/trex" --version | awk '{print $2}')
[[ -n $version ]] || fail "trex --version printed no version"

# page FILE: renders without warnings; prints the rendered text to FILE.txt.
render() {
  local page=$1
  [[ -f $page ]] || fail "not installed: $page"
  man --warnings -l "$page" >"$page.txt" 2>"$work/warn" || fail "man -l $page failed"
  [[ ! -s $work/warn ]] || fail "man -l $page warns: $(cat "$work/warn")"
  groff -man -ww -z "$page" 2>"$work/warn" || fail "groff $page failed"
  [[ ! -s $work/warn ]] || fail "groff $page warns: $(cat "$work/warn")"
  grep -q '^NAME' "$page.txt" || fail "$page has no NAME section"
  grep -q '^SYNOPSIS' "$page.txt" || fail "$page has no SYNOPSIS section"
  grep -qF "trex $version" "$page.txt" || fail "$page does not say 'trex $version'"
  ! grep -q '@[A-Z_]*@' "$page" || fail "$page has an unfilled @PLACEHOLDER@"
  passed=$((passed + 1))
}

# covers PAGE HELP_TEXT_FILE: every option in the help appears in the page.
covers() {
  local page=$1 help=$2 opt missing=()
  while read -r opt; do
    # The rendered page hyphenates and justifies: look for the option as a word.
    grep -qE -- "(^|[^[:alnum:]-])${opt}([^[:alnum:]-]|$)" "$page.txt" || missing+=("$opt")
  done < <(help_options "$help")
  ((${#missing[@]} == 0)) || fail "$(basename "$page") does not describe: ${missing[*]}"
  passed=$((passed + 1))
}

for page in man1/trex.1 man8/trexd.8 man1/trex-audit.1 man1/trex-pki.1; do
  render "$man_dir/$page"
done

# Hyphenation would split long options across lines in the rendered text.
for page in "$man_dir"/man*/*.[18]; do
  MANWIDTH=1000 man --warnings -l "$page" >"$page.txt" 2>/dev/null
done

"$work/prefix/bin/trex" --help >"$work/trex.help"
covers "$man_dir/man1/trex.1" "$work/trex.help"
"$work/prefix/bin/trexd" --help >"$work/trexd.help"
covers "$man_dir/man8/trexd.8" "$work/trexd.help"
: >"$work/audit.help"
for cmd in show stats verify report; do "$work/prefix/bin/trex-audit" "$cmd" --help >>"$work/audit.help"; done
"$work/prefix/bin/trex-audit" --help >>"$work/audit.help"
covers "$man_dir/man1/trex-audit.1" "$work/audit.help"
"$work/prefix/bin/trex-pki" --help >"$work/pki.help"
for cmd in init server client revoke crl list request sign; do
  "$work/prefix/bin/trex-pki" "$cmd" --help >>"$work/pki.help" 2>&1 || true
done
covers "$man_dir/man1/trex-pki.1" "$work/pki.help"

# The check itself works: a page that lacks an option is caught.
sed '/^\.B \\-\\-raw$/,+1d' "$man_dir/man1/trex.1" >"$work/broken.1"
MANWIDTH=1000 man -l "$work/broken.1" >"$work/broken.1.txt" 2>/dev/null
(covers "$work/broken.1" "$work/trex.help") 2>/dev/null &&
  fail "a page without --raw passed the coverage check"
passed=$((passed + 1))

echo "man pages: $passed passed, 0 failed"
