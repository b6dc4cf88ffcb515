#!/usr/bin/env bash
# tools/quickstart.sh — try trex on this machine in one command.
#
#   tools/quickstart.sh         install what is missing, build, make a demo PKI
#                               (pki/), start trexd on 127.0.0.1:7443, run a few
#                               commands through trex, show and verify the audit
#                               trail
#   tools/quickstart.sh stop    stop the trexd that the quickstart started
#
# Safe to run again: an existing PKI, demo policy and running server are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

BIN=build/release
PKI=pki
LOGDIR=log
POLICY=$LOGDIR/quickstart-policy.toml
PIDFILE=$LOGDIR/trexd.pid
OUTFILE=$LOGDIR/trexd.out
HOST=127.0.0.1
PORT=7443

step() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'quickstart: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }

# alive PID: the process exists and is not a zombie.
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# The pid of the trexd the quickstart started, if it is still running.
running_pid() {
  local pid
  [[ -f $PIDFILE ]] || return 1
  read -r pid <"$PIDFILE" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  # Guard against a recycled pid: it must still be trexd.
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == trexd ]] || return 1
  printf '%s' "$pid"
}

# Is anything listening on 127.0.0.1:PORT (or a wildcard address)?
# Reads /proc rather than connecting: a bare TCP connection would show up
# in the audit trail as a failed handshake.
port_listening() {
  local hex
  hex=$(printf '%04X' "$PORT")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
}

stop_server() {
  local pid i
  if ! pid=$(running_pid); then
    rm -f "$PIDFILE"
    echo "quickstart: no trexd started by the quickstart is running"
    return 0
  fi
  echo "==> stopping trexd (pid $pid) with SIGTERM"
  kill -TERM "$pid"
  # trexd lets running commands finish for --kill-grace (5 s) before it kills them.
  for ((i = 0; i < 300; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    die "trexd (pid $pid) did not exit within 30 s; see $LOGDIR/server.log"
  fi
  rm -f "$PIDFILE"
  echo "    trexd stopped; its audit trail stays in $LOGDIR/audit.jsonl"
}

case ${1:-} in
  "") ;;
  stop) stop_server; exit 0 ;;
  -h | --help) usage; exit 0 ;;
  *) printf 'quickstart: unknown argument %s (try --help)\n' "$1" >&2; exit 2 ;;
esac

# --------------------------------------------------------------- install --
step "checking build dependencies (apt, with sudo when not root)"
source tools/lib/deps.sh
trex_install_deps build
note "all present"

# ----------------------------------------------------------------- build --
step "building wolfSSL with its assembly (once; TREX_WOLFSSL=system skips it)"
PRESET=$(trex_default_preset)
BIN=build/$PRESET
step "building the $PRESET preset ($BIN)"
cmake --preset "$PRESET" >/dev/null && cmake --build --preset "$PRESET" -j"$(nproc)"
for prog in trexd trex; do
  [[ -x $BIN/$prog ]] || die "$BIN/$prog was not built"
done
have_audit=0
[[ -x $BIN/trex-audit ]] && have_audit=1

# ------------------------------------------------------------------- PKI --
step "demo PKI in $PKI/"
if [[ -f $PKI/ca.crt ]]; then
  note "reusing the CA in $PKI/ (tools/pki init is not run again)"
else
  tools/pki init
fi
if [[ -f $PKI/issued/server.crt ]]; then
  note "reusing the server certificate $PKI/issued/server.crt"
else
  tools/pki server server --loopback
fi
if [[ -f $PKI/issued/client.crt ]]; then
  note "reusing the client certificate $PKI/issued/client.crt"
else
  tools/pki client client --ou ops
fi
# trex trusts no pki/ folder by itself (a CA file planted in a shared folder
# would decide whom it trusts): this client config opts in to the demo's.
CLIENT_CONFIG=$PKI/trex.toml
if [[ -f $CLIENT_CONFIG ]]; then
  note "reusing the client config $CLIENT_CONFIG"
else
  cat >"$CLIENT_CONFIG" <<EOF
# trex's config for the quickstart demo (TREX_CONFIG=$PWD/$CLIENT_CONFIG).
# Relative paths are relative to this file's folder.
pki_dir = "."                # ca.crt, issued/client.crt, private/client.key

[hosts.demo]
address = "$HOST"
port = $PORT
EOF
  note "wrote the client config $CLIENT_CONFIG (pki_dir = \".\", host alias demo)"
fi
export TREX_CONFIG=$PWD/$CLIENT_CONFIG

# ---------------------------------------------------------------- policy --
step "demo policy $POLICY"
mkdir -p "$LOGDIR"
if [[ -f $POLICY ]]; then
  note "reusing $POLICY (delete it to get the demo policy back)"
else
  cat >"$POLICY" <<'EOF'
# Demo policy written by tools/quickstart.sh; edit it freely, the quickstart
# does not overwrite it. Apply changes with: kill -HUP $(cat log/trexd.pid)
# Everything not allowed by a rule is denied.

[[rule]]
name = "quickstart-ops"
ou = ["ops"]                 # tools/pki client client --ou ops
allow = ["echo", "uptime", "id", "ls", "date", "hostname", "uname"]
shell = true                 # trex HOST -c '...' through /bin/sh
timeout = 60
EOF
  note "written: group ops may run echo, uptime, id, ls, date, hostname, uname and shell strings"
fi

# ---------------------------------------------------------------- server --
step "trexd on $HOST:$PORT"
since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
if pid=$(running_pid); then
  note "reusing the running trexd (pid $pid, from $PIDFILE)"
  note "(it reads $POLICY at start-up and on SIGHUP)"
else
  rm -f "$PIDFILE"
  if ! $BIN/trexd --policy "$POLICY" --check-config >"$LOGDIR/check-config.txt" 2>&1; then
    cat "$LOGDIR/check-config.txt" >&2
    die "trexd --check-config found errors (above); fix them, or move $PKI/ aside for a new demo PKI"
  fi
  if port_listening; then
    die "something else already listens on port $PORT; stop it first"
  fi
  $BIN/trexd --listen "$HOST:$PORT" --policy "$POLICY" </dev/null >"$OUTFILE" 2>&1 &
  pid=$!
  echo "$pid" >"$PIDFILE"
  for ((i = 0; i < 100; i++)); do
    port_listening && break
    alive "$pid" || break
    sleep 0.1
  done
  if ! alive "$pid" || ! port_listening; then
    cat "$OUTFILE" >&2
    tail -n 5 "$LOGDIR/server.log" >&2 2>/dev/null || true
    rm -f "$PIDFILE"
    die "trexd did not start (see $OUTFILE and $LOGDIR/server.log)"
  fi
  note "started: $BIN/trexd --listen $HOST:$PORT --policy $POLICY (pid $pid)"
  note "it uses $PKI/ca.crt, $PKI/issued/server.crt, $PKI/private/server.key, $PKI/crl.pem"
fi

# ------------------------------------------------------------------ demo --
unexpected=0
# shq ARG: ARG quoted for a shell command line, as a person would type it.
shq() {
  if [[ $1 =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

# demo EXPECTED-STATUS TREX-ARGS...: runs trex, shows its exit status.
demo() {
  local want=$1 rc=0 a
  shift
  printf '\n$ %s' "$BIN/trex"
  for a in "$@"; do printf ' %s' "$(shq "$a")"; done
  printf '\n'
  "$BIN/trex" "$@" || rc=$?
  printf '[trex exit status: %d]\n' "$rc"
  if ((rc != want)); then
    printf 'quickstart: expected exit status %d here\n' "$want" >&2
    unexpected=1
  fi
}

step "running commands through trex (certificate $PKI/issued/client.crt, CN client, OU ops)"
note "TREX_CONFIG=$TREX_CONFIG: the demo's certificates and the host alias demo"
note "-n: no stdin for the command (like ssh -n)"
demo 0 -n demo uptime
demo 0 -n "$HOST" echo hello from trex
step "a shell string that writes to stderr and exits 3: trex exits with the command's status"
demo 3 -n "$HOST" -c 'echo to stdout; echo to stderr >&2; exit 3'
step "a command no rule allows: the server refuses it, trex exits 126"
demo 126 -n "$HOST" rm -rf /tmp/nothing

# ----------------------------------------------------------------- audit --
if ((have_audit)); then
  step "the audit trail of this run ($LOGDIR/audit.jsonl)"
  printf '$ %s show --since %s\n' "$BIN/trex-audit" "$since"
  $BIN/trex-audit show --since "$since" || unexpected=1
  step "verifying the hash chain of the whole trail"
  printf '$ %s verify\n' "$BIN/trex-audit"
  $BIN/trex-audit verify || unexpected=1
else
  step "audit trail"
  note "$BIN/trex-audit was not built; the raw records are in $LOGDIR/audit.jsonl"
  tail -n 8 "$LOGDIR/audit.jsonl" || true
fi

# ---------------------------------------------------------------- go on --
pid=$(running_pid || echo '?')
step "trexd keeps running (pid $pid). To go on:"
cat <<EOF
    use the demo client   export TREX_CONFIG=$TREX_CONFIG
                          (or copy $PKI/ca.crt, $PKI/issued/client.crt and
                          $PKI/private/client.key to ~/.config/trex/ as ca.crt,
                          client.crt and client.key, mode 600 for the key)
    run a command         $BIN/trex demo ls -l /
    run a shell string    $BIN/trex $HOST -c 'uptime; id'
    interactive session   $BIN/trex $HOST          (one shell line per prompt; exit to leave)
    why allowed/denied    $BIN/trexd --policy $POLICY --explain client --ou ops -- rm -rf /tmp/x
    change the policy     edit $POLICY, then: kill -HUP $pid
    review the audit      $BIN/trex-audit show | verify | stats
    logs                  $LOGDIR/server.log (operational), $LOGDIR/audit.jsonl (audit trail),
                          $OUTFILE (trexd's own output)
    certificates          tools/pki list
    stop the server       tools/quickstart.sh stop
EOF
if ((unexpected)); then
  echo "quickstart: some steps did not behave as expected (see above)" >&2
  exit 1
fi
