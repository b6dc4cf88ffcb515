#!/usr/bin/env bash
# Bash completion (tools/completion/trex.bash, as cmake --install puts it):
# loaded by a plain bash, it completes host aliases and groups from the
# config file trex would read (--config, TREX_CONFIG, XDG_CONFIG_HOME,
# ~/.config/trex/), options before and after HOST but not in the command,
# and every option that each program's --help lists.
#   TREXD_BIN=build/release-asm/trexd bash tests/scripts/completion_test.sh
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/help_options.sh"
build=$(build_dir)
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

passed=0
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" 2>&1 ||
  fail "cmake --install: $(cat "$work/install.log")"
comp_dir=$work/prefix/share/bash-completion/completions
for cmd in trex trexd trex-audit trex-pki; do
  [[ -s $comp_dir/$cmd ]] || fail "not installed: share/bash-completion/completions/$cmd"
done
passed=$((passed + 1))

export HOME=$work/home
unset TREX_CONFIG XDG_CONFIG_HOME TREX_PKI
mkdir -p "$HOME/.config/trex"
cat >"$HOME/.config/trex/config.toml" <<'EOF'
# a comment with [hosts.not_a_host]
ca = "ca.crt"
[hosts.web1]
address = "10.0.0.5"
[ hosts . "db.lab" ]   # quoted, with spaces
port = 7444
[groups]
lab = ["web1", "lab[01-12]"]
"ops-team" = ["db.lab"]
EOF
cat >"$work/other.toml" <<'EOF'
[hosts.other1]
[groups]
far = ["other1"]
EOF

# complete LINE: what bash offers for the last word of LINE (a trailing
# space starts a new, empty word), sorted, one per line, in a fresh bash
# that loads only the installed completion file of LINE's command.
complete_line() {
  local line=$1
  env -i HOME="$HOME" PATH="$PATH" TREX_CONFIG="${TREX_CONFIG-}" \
    XDG_CONFIG_HOME="${XDG_CONFIG_HOME-}" bash --norc --noprofile -c '
    [[ -n $TREX_CONFIG ]] || unset TREX_CONFIG
    [[ -n $XDG_CONFIG_HOME ]] || unset XDG_CONFIG_HOME
    line=$1
    read -ra COMP_WORDS <<<"$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line
    COMP_POINT=${#line}
    file=${COMP_WORDS[0]##*/}
    [[ $file != pki ]] || file=trex-pki  # tools/pki
    source "$2/$file" || exit 3
    spec=$(complete -p "${COMP_WORDS[0]}") || exit 4
    fn=${spec#*-F }
    fn=${fn%% *}
    "$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$line" "$comp_dir"
}

expect() {  # expect LINE WANTED...: the offers are exactly WANTED
  local line=$1 got want
  shift
  got=$(complete_line "$line")
  want=$(printf '%s\n' "$@" | sort)
  [[ $got == "$want" ]] || fail "'$line': offered [$(echo $got)], expected [$(echo $want)]"
  passed=$((passed + 1))
}

offers_all() {  # offers_all LINE HELP_FILE: every option of the help is offered
  local line=$1 help=$2 opt missing=()
  complete_line "$line" >"$work/offered"
  while read -r opt; do grep -qxF -- "$opt" "$work/offered" || missing+=("$opt"); done \
    < <(help_options "$help")
  ((${#missing[@]} == 0)) || fail "'$line' does not offer: ${missing[*]}"
  passed=$((passed + 1))
}

# Host aliases and groups from ~/.config/trex/config.toml.
expect 'trex ' db.lab web1
expect 'trex w' web1
expect 'trex -v ' db.lab web1
expect 'trex -H web1,' web1,db.lab web1,web1
expect 'trex -H web1,d' web1,db.lab
expect 'trex -g ' lab ops-team
expect 'trex -n -g o' ops-team
# Another file: --config on the line, TREX_CONFIG, XDG_CONFIG_HOME.
expect "trex --config $work/other.toml " other1
expect "trex --config $work/other.toml -g " far
TREX_CONFIG=$work/other.toml expect 'trex ' other1
mkdir -p "$work/xdg/trex" && cp "$work/other.toml" "$work/xdg/trex/config.toml"
XDG_CONFIG_HOME=$work/xdg expect 'trex ' other1
XDG_CONFIG_HOME=relative expect 'trex ' db.lab web1  # as trex: only an absolute XDG path counts
TREX_CONFIG=$work/none.toml expect 'trex '
# Options after HOST as in ssh, none in the command, none after --.
expect 'trex web1 --js' --json
expect 'trex web1 ls --js'
expect 'trex -H web1 ls --js'
expect 'trex -- web1 --js'
expect 'trex --port ' 

# Every option of each program's --help.
"$work/prefix/bin/trex" --help >"$work/trex.help"
offers_all 'trex -' "$work/trex.help"
offers_all 'trex web1 -' "$work/trex.help"
"$work/prefix/bin/trexd" --help >"$work/trexd.help"
offers_all 'trexd -' "$work/trexd.help"
mkdir -p "$work/crls/a.d" "$work/crls/b.d" && touch "$work/crls/c.pem"
expect "trexd --crl-dir $work/crls/" "$work/crls/a.d" "$work/crls/b.d"
expect "trexd --crl $work/crls/c" "$work/crls/c.pem"
touch "$work/crls/with space.pem"
expect "trexd --crl $work/crls/w" "$work/crls/with space.pem"
expect 'trex-audit ' --help --version -h play report show stats verify
for cmd in show stats verify report play; do
  "$work/prefix/bin/trex-audit" "$cmd" --help >"$work/audit.help"
  offers_all "trex-audit $cmd -" "$work/audit.help"
done
expect 'trex-audit show --format ' csv json table
expect 'trex-audit stats --status ok,t' ok,timeout
expect 'trex-pki ' --help -h client crl init list request revoke server sign
for cmd in init server client revoke crl list request sign; do
  "$work/prefix/bin/trex-pki" "$cmd" --help >"$work/pki.help" 2>&1 || true
  offers_all "trex-pki $cmd -" "$work/pki.help"
done
expect 'tools/pki sign --algo ' ec ed25519 rsa
mkdir -p "$work/pki/issued" && touch "$work/pki/issued/alice.crt" "$work/pki/issued/bob.crt"
expect "trex-pki revoke --dir $work/pki " alice bob

# The checks themselves work: a completion that lost an option is caught.
sed 's/ --raw / /' "$comp_dir/trex" >"$work/broken" && cp "$work/broken" "$comp_dir/trex"
(offers_all 'trex -' "$work/trex.help") 2>/dev/null && fail "a completion without --raw passed"
passed=$((passed + 1))

echo "completion: $passed passed, 0 failed"
