# Bash completion for trex, trexd, trex-audit and trex-pki (tools/pki).
# Installed by cmake --install as share/bash-completion/completions/{trex,
# trexd,trex-audit,trex-pki}; or source it from ~/.bashrc. Needs nothing but
# bash (no bash-completion helpers). Host aliases and groups come from the
# config file trex would read (--config on the line, TREX_CONFIG, then
# $XDG_CONFIG_HOME/trex/config.toml or ~/.config/trex/config.toml).
# tests/scripts/completion_test.sh checks it against each program's --help.

# The config file for the words on the line (as trex chooses it).
_trex_config_file() {
  local i
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    case ${COMP_WORDS[i]} in
      --config) printf '%s\n' "${COMP_WORDS[i + 1]/#\~/$HOME}"; return ;;
      --config=*) printf '%s\n' "${COMP_WORDS[i]#--config=}"; return ;;
    esac
  done
  if [[ -n ${TREX_CONFIG-} ]]; then
    printf '%s\n' "$TREX_CONFIG"
  elif [[ ${XDG_CONFIG_HOME-} == /* ]]; then
    printf '%s\n' "$XDG_CONFIG_HOME/trex/config.toml"
  elif [[ -n ${HOME-} ]]; then
    printf '%s\n' "$HOME/.config/trex/config.toml"
  fi
}

# _trex_config_names hosts|groups: the aliases of [hosts.ALIAS] tables, or
# the keys of the [groups] table (bare or quoted).
_trex_config_names() {
  local file
  file=$(_trex_config_file)
  [[ -r $file ]] || return 0
  awk -v want="$1" '
    function unquote(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); if (s ~ /^".*"$|^\x27.*\x27$/) s = substr(s, 2, length(s) - 2); return s }
    /^[ \t]*\[/ {
      table = $0; sub(/^[ \t]*\[[ \t]*/, "", table); sub(/[ \t]*\][ \t]*(#.*)?$/, "", table)
      in_groups = (table == "groups")
      if (want == "hosts" && table ~ /^hosts[ \t]*\./) { sub(/^hosts[ \t]*\.[ \t]*/, "", table); print unquote(table) }
      next
    }
    want == "groups" && in_groups && /=/ { key = $0; sub(/=.*/, "", key); key = unquote(key); if (key != "" && key !~ /^#/) print key }
  ' "$file" 2>/dev/null
}

# _trex_files -f|-d CUR: files or folders, names with spaces kept whole.
_trex_files() {
  local IFS=$'\n'
  compopt -o filenames 2>/dev/null
  COMPREPLY=($(compgen "$1" -- "$2"))
}

# Completes a comma list: the words before the last comma stay as typed.
_trex_comma_list() {
  local cur=$1 head='' tail=$1
  shift
  if [[ $cur == *,* ]]; then head=${cur%,*},; tail=${cur##*,}; fi
  local IFS=$'\n'
  COMPREPLY=($(compgen -P "$head" -W "$*" -- "$tail"))
}

_trex() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local opts='--config --ca --cert --key --crl --port --timeout --connect-timeout --persist -O -n -t -T -c
    --stdin-all -H -g --hosts-file --parallel --host-timeout -b --json --raw -v --verbose
    -q --quiet -p -r --recursive -h --help --version --'
  local IFS=$' \t\n'
  COMPREPLY=()
  case $prev in
    --config | --ca | --cert | --key | --crl | --hosts-file)
      _trex_files -f "$cur"; return ;;
    --port | --timeout | --connect-timeout | --parallel | --host-timeout | -c) return ;;
    --persist) COMPREPLY=($(compgen -W '60s 5m 1h off' -- "$cur")); return ;;
    -O) COMPREPLY=($(compgen -W 'check exit' -- "$cur")); return ;;
    -H) _trex_comma_list "$cur" $(_trex_config_names hosts); return ;;
    -g) _trex_comma_list "$cur" $(_trex_config_names groups); return ;;
  esac
  # Where are we: before HOST, among options after it, or in the command?
  local i w host='' fanout='' ended=''
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ -z $ended && $w == -?* ]]; then
      case $w in
        --) ended=1 ;;
        -H | -g | --hosts-file) fanout=1; ((i++)) ;;
        --config | --ca | --cert | --key | --crl | --port | --timeout | --connect-timeout | \
          --persist | -O | --parallel | --host-timeout | -c) ((i++)) ;;
      esac
      continue
    fi
    [[ -z $host && -z $fanout ]] || return 0  # the command has begun: not ours
    host=$w
  done
  if [[ $cur == -* && -z $ended ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -z $host && -z $fanout ]]; then
    COMPREPLY=($(compgen -W "$(_trex_config_names hosts)" -- "$cur"))
  fi
}

_trexd() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local opts='--config --listen --ca --cert --key --crl --crl-dir --policy --allow-all
    --log-dir --audit-log --max-sessions --command-timeout --handshake-timeout
    --idle-timeout --max-output --max-recording --kill-grace --audit-fsync --audit-max-bytes
    --syslog --audit-syslog --audit-syslog-socket --audit-head-syslog --audit-head-interval
    --accept-shortened-trail --cgroup --check-config --explain --ou --put --get --tty -h --help --version'
  local IFS=$' \t\n'
  COMPREPLY=()
  case $prev in
    --config | --ca | --cert | --key | --crl | --policy | --audit-log | \
      --audit-syslog-socket | --audit-head-syslog)
      _trex_files -f "$cur"; return ;;
    --crl-dir | --log-dir) _trex_files -d "$cur"; return ;;
    --cgroup)
      COMPREPLY=($(compgen -W 'auto off' -- "$cur"))
      [[ $cur == /* ]] && _trex_files -d "$cur"
      return ;;
    --listen | --max-sessions | --command-timeout | --handshake-timeout | --idle-timeout | \
      --max-output | --max-recording | --kill-grace | --audit-max-bytes | --audit-head-interval | \
      --explain | --ou | --put | --get) return ;;
  esac
  [[ $cur == -* ]] && COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}

_trex_audit() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local IFS=$' \t\n'
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W 'show stats verify report play -h --help --version' -- "$cur"))
    return
  fi
  local common='--log-dir --since --until -h --help'
  local filters='--client --event --status --rule --failed --format'
  local opts
  case ${COMP_WORDS[1]} in
    show) opts="$common $filters --events --json --wide -f --follow --host-local --utc" ;;
    stats) opts="$common $filters" ;;
    verify) opts="$common --expect --checkpoint" ;;
    report) opts="$common --client --html" ;;
    play) opts="--log-dir --file --speed --idle-limit -h --help" ;;
    *) return ;;
  esac
  case $prev in
    --log-dir) _trex_files -d "$cur"; return ;;
    --checkpoint | --html) _trex_files -f "$cur"; return ;;
    --format) COMPREPLY=($(compgen -W 'table csv json' -- "$cur")); return ;;
    --status) _trex_comma_list "$cur" ok failed timeout signal denied refused running; return ;;
    --since | --until | --client | --event | --rule | --expect | --speed | --idle-limit) return ;;
    --file) _trex_files -f "$cur"; return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    _trex_files -f "$cur"
  fi
}

_trex_pki() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local IFS=$' \t\n'
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W 'init server client revoke crl list request sign -h --help' -- "$cur"))
    return
  fi
  local opts='--dir -h --help'
  case ${COMP_WORDS[1]} in
    init) opts+=' --cn --algo --days --intermediate --root-cn' ;;
    server) opts+=' --san --loopback --algo --days --start --end' ;;
    client) opts+=' --ou --algo --days --start --end' ;;
    revoke) opts+=' --intermediate' ;;
    crl) opts+=' --days --root --lastupdate --nextupdate' ;;
    request) opts+=' --ou --algo' ;;
    sign) opts+=' --client --server --ou --san --days' ;;
  esac
  case $prev in
    --dir) _trex_files -d "$cur"; return ;;
    --algo) COMPREPLY=($(compgen -W 'ed25519 ec rsa' -- "$cur")); return ;;
    --cn | --root-cn | --days | --san | --ou | --start | --end | --lastupdate | --nextupdate)
      return ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ ${COMP_WORDS[1]} == sign ]]; then
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -X '!*.csr' -- "$cur") $(compgen -d -- "$cur"))
  elif [[ ${COMP_WORDS[1]} == revoke ]]; then
    # Names with a current certificate in the PKI folder (--dir, TREX_PKI, ./pki).
    local dir=${TREX_PKI:-pki} i f names=()
    for ((i = 2; i < COMP_CWORD; i++)); do
      [[ ${COMP_WORDS[i]} == --dir ]] && dir=${COMP_WORDS[i + 1]}
    done
    for f in "$dir"/issued/*.crt; do [[ -e $f ]] && f=${f##*/} && names+=("${f%.crt}"); done
    COMPREPLY=($(compgen -W "${names[*]}" -- "$cur"))
  fi
}

complete -o default -F _trex trex
complete -o default -F _trexd trexd
complete -o default -F _trex_audit trex-audit
complete -o default -F _trex_pki trex-pki tools/pki ./tools/pki
