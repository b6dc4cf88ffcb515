#!/usr/bin/env bash
# trex vs OpenSSH, side by side, on loopback. Prints a markdown table of medians.
#
# usage: tools/bench.sh [--quick] [--no-build] [--keep] [--help]
#
#   --quick     fewer repetitions, 64 MiB instead of 512 MiB of output and a 256 MiB
#               file instead of 1 GiB for (8) (a few minutes)
#   --no-build  do not build; use build/release-asm (else build/release)
#   --keep      keep the temporary directory (keys, configs, logs) for inspection
#
# Environment: TREX_BIN_DIR=DIR uses the trex/trexd binaries in DIR (no build).
#
# Installs what is missing (openssh-server, openssh-client, python3, procps;
# the build dependencies when it builds), builds the README's preset (release-asm,
# wolfSSL with its assembly, when it builds here) and release (Debian's
# libwolfssl, reported beside it for throughput), then starts
# a private sshd (own config, host key and client key in a temporary directory)
# and a trexd (fresh tools/pki PKI in the same directory), both on free ports of
# 127.0.0.1 only, and tears both down on exit. Every figure: a warm-up, then
# repetitions alternating trex and ssh (the order flips on each repetition), the
# median of the repetitions is reported. Timings use bash's $EPOCHREALTIME
# (microseconds, no fork) around each client run; the first byte is timed by
# tests/bench/first_byte.py. Takes about 10 minutes on a 2-core machine.
# A benchmark only: not part of ctest or tools/test.sh, no timed assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LC_ALL=C

quick=0 build=1 keep=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

if ((quick)); then
  N1=30  W1=3  # new connection: repetitions, warm-up runs
  K=100  N2=3  # open session: commands per repetition, repetitions
  BYTES=$((64 << 20)) N3=3
  FILE_BYTES=$((256 << 20)) N8=2  # (8) put/get vs scp
  N4=1         # 16 x 30 concurrent: repetitions
  N6=3         # first byte: repetitions
  N9=300       # keystroke echo: round trips
else
  N1=100 W1=5
  K=200  N2=10
  BYTES=$((512 << 20)) N3=5
  FILE_BYTES=$((1024 << 20)) N8=3
  N4=3
  N6=10
  N9=1000
fi
CLIENTS=16 PER_CLIENT=30

say() { printf '%s\n' "bench: $*" >&2; }
die() { printf '%s\n' "bench: $*" >&2; exit 1; }

# ---------------------------------------------------------------- dependencies
install_missing() {
  local missing=() p sudo=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing: ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

install_missing openssh-server openssh-client python3 procps
# BIN: the README's build (release-asm when wolfSSL's assembly builds here);
# SYS_BIN: the release preset on Debian's libwolfssl, measured beside it for
# throughput (the two differ only in the crypto library).
build_preset() {
  say "building the $1 preset"
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j "$(nproc)" >/dev/null || die "the $1 build failed (cmake --build --preset $1)"
}
SYS_BIN=''
if [ -n "${TREX_BIN_DIR:-}" ]; then
  BIN=$(cd "$TREX_BIN_DIR" && pwd)
else
  source tools/lib/deps.sh
  if ((build)); then
    trex_install_deps build
    preset=$(trex_default_preset)
    build_preset "$preset"
    [ "$preset" = release ] || build_preset release
  else
    preset=release
    [ -x build/release-asm/trexd ] && preset=release-asm
  fi
  BIN=$ROOT/build/$preset
  [ "$preset" = release ] || [ ! -x build/release/trexd ] || SYS_BIN=$ROOT/build/release
fi
TREX=$BIN/trex TREXD=$BIN/trexd
[ -x "$TREX" ] && [ -x "$TREXD" ] || die "no trex/trexd in $BIN"
SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || die "no $SSHD"

# ---------------------------------------------------------------- environment
T=$(mktemp -d "${TMPDIR:-/tmp}/trex-bench.XXXXXX")
SSHD_PID='' TREXD_PID='' SYS_PID='' FSYNC_PID='' CHAIN_PID='' WD_PID='' MUX=''
cleanup() {
  local rc=$?
  set +e
  [ -n "$WD_PID" ] && kill "$WD_PID" 2>/dev/null
  [ -n "$MUX" ] && [ -S "$MUX" ] && "${SSH[@]}" -S "$MUX" -O exit 127.0.0.1 2>/dev/null
  local pid
  for pid in $TREXD_PID $SYS_PID $FSYNC_PID $CHAIN_PID $SSHD_PID; do kill -TERM "$pid" 2>/dev/null; done
  for pid in $TREXD_PID $SYS_PID $FSYNC_PID $CHAIN_PID $SSHD_PID; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if ((keep)); then say "kept $T"; else rm -rf "$T"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r SSH_PORT TREX_PORT SYS_PORT FSYNC_PORT CHAIN_PORT < <(python3 -c '
import socket
s = [socket.socket() for _ in range(5)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')

# sshd: its own host key, a fresh client key, nothing from /etc/ssh.
mkdir -p "$T/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host_ed25519" -C bench-host
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/client_ed25519" -C bench-client
cp "$T/ssh/client_ed25519.pub" "$T/ssh/authorized_keys"
# SetEnv SHLVL=1: bash (the login shell that runs ssh's commands) sources
# ~/.bashrc when started by sshd at shell level 1; a user's rc file (here root's
# runs `pyenv init`, seconds under load) would be timed as ssh's cost. trex runs commands
# without any rc file, so ssh gets the same treatment.
cat >"$T/ssh/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $T/ssh/host_ed25519
AuthorizedKeysFile $T/ssh/authorized_keys
PidFile $T/ssh/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
MaxStartups 100:30:200
MaxSessions 100
SetEnv SHLVL=1
# scp's transport since OpenSSH 9.0, for (8)
Subsystem sftp internal-sftp
EOF
if [ ! -d /run/sshd ]; then
  if [ "$(id -u)" -eq 0 ]; then mkdir -p /run/sshd; else sudo mkdir -p /run/sshd; fi
fi
"$SSHD" -f "$T/ssh/sshd_config" -D -e 2>"$T/ssh/sshd.log" &
SSHD_PID=$!
SSH_BASE=(ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
          -o BatchMode=yes -i "$T/ssh/client_ed25519" -p "$SSH_PORT")
SSH=("${SSH_BASE[@]}" -o LogLevel=ERROR)

# trexd: a fresh PKI (Ed25519, the tools/pki default), logs in the temp dir.
bash tools/pki init --dir "$T/pki" >/dev/null
bash tools/pki server server --loopback --dir "$T/pki" >/dev/null
bash tools/pki client bench --dir "$T/pki" >/dev/null
mkdir -p "$T/log"
"$TREXD" --listen "127.0.0.1:$TREX_PORT" --ca "$T/pki/ca.crt" \
  --cert "$T/pki/issued/server.crt" --key "$T/pki/private/server.key" --crl "$T/pki/crl.pem" \
  --log-dir "$T/log" --kill-grace 1 --allow-all 2>"$T/log/trexd.stderr" &
TREXD_PID=$!
if [ -n "$SYS_BIN" ]; then
  mkdir -p "$T/log-sys"
  "$SYS_BIN/trexd" --listen "127.0.0.1:$SYS_PORT" --ca "$T/pki/ca.crt" \
    --cert "$T/pki/issued/server.crt" --key "$T/pki/private/server.key" --crl "$T/pki/crl.pem" \
    --log-dir "$T/log-sys" --kill-grace 1 --allow-all 2>"$T/log-sys/trexd.stderr" &
  SYS_PID=$!
fi
# The same trexd with --audit-fsync, for the audit trail's cost with fsync on.
mkdir -p "$T/log-fsync"
"$TREXD" --listen "127.0.0.1:$FSYNC_PORT" --ca "$T/pki/ca.crt" \
  --cert "$T/pki/issued/server.crt" --key "$T/pki/private/server.key" --crl "$T/pki/crl.pem" \
  --log-dir "$T/log-fsync" --kill-grace 1 --audit-fsync --allow-all 2>"$T/log-fsync/trexd.stderr" &
FSYNC_PID=$!
# The same trexd on a two-level PKI (root, intermediate, a CRL each): clients
# present leaf + intermediate, for (1e).
bash tools/pki init --intermediate --dir "$T/pki2" >/dev/null
bash tools/pki server server --loopback --dir "$T/pki2" >/dev/null
bash tools/pki client bench --dir "$T/pki2" >/dev/null
mkdir -p "$T/log-chain"
"$TREXD" --listen "127.0.0.1:$CHAIN_PORT" --ca "$T/pki2/ca.crt" \
  --cert "$T/pki2/issued/server.crt" --key "$T/pki2/private/server.key" --crl "$T/pki2/crl.pem" \
  --log-dir "$T/log-chain" --kill-grace 1 --allow-all 2>"$T/log-chain/trexd.stderr" &
CHAIN_PID=$!
CHAIN_TREX=("$TREX" --ca "$T/pki2/ca.crt" --cert "$T/pki2/issued/bench.crt" --key "$T/pki2/private/bench.key")
export TREX_CA=$T/pki/ca.crt TREX_CERT=$T/pki/issued/bench.crt TREX_KEY=$T/pki/private/bench.key
# trex reads no config of the person running the benchmark; (1d) gives one.
export TREX_CONFIG=$T/empty.toml
# Connection masters of (1f) and (4) (trex --persist) keep their sockets here;
# they end when the trexd they talk to stops.
export XDG_RUNTIME_DIR=$T/run
mkdir -m 0700 "$T/run"
: >"$TREX_CONFIG"
# A config of 200 hosts (every one with address, port, server name and its
# own certificate) and 20 groups, for (1d).
{
  echo "ca = \"$T/pki/ca.crt\""
  for i in $(seq -w 1 200); do
    printf '[hosts.lab%s]\naddress = "10.1.%d.%d"\nport = 7443\nserver_name = "lab%s.bench.example"\ncert = "certs/lab%s.crt"\nkey = "certs/lab%s.key"\n\n' \
      "$i" $((10#$i / 100)) $((10#$i % 100)) "$i" "$i" "$i"
  done
  echo "[groups]"
  for g in $(seq 1 20); do echo "g$g = [\"lab[001-200]\", \"10.0.$g.[1-50]\"]"; done
} >"$T/config200.toml"
TH=127.0.0.1:$TREX_PORT

wait_ready() {  # NAME PID CMD...
  local name=$1 pid=$2 i
  shift 2
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || die "$name exited at start-up; see its log in $T (use --keep)"
    "$@" </dev/null >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$name did not answer within 10 s"
}
wait_ready sshd "$SSHD_PID" "${SSH[@]}" 127.0.0.1 true
wait_ready trexd "$TREXD_PID" "$TREX" "$TH" true
wait_ready "trexd --audit-fsync" "$FSYNC_PID" "$TREX" "127.0.0.1:$FSYNC_PORT" true
wait_ready "trexd (two-level PKI)" "$CHAIN_PID" "${CHAIN_TREX[@]}" "127.0.0.1:$CHAIN_PORT" true
[ -z "$SYS_PID" ] || wait_ready "trexd (Debian libwolfssl)" "$SYS_PID" "$SYS_BIN/trex" "127.0.0.1:$SYS_PORT" true
say "sshd on 127.0.0.1:$SSH_PORT (pid $SSHD_PID), trexd on $TH (pid $TREXD_PID), temp dir $T"

SSH_CIPHER=$("${SSH_BASE[@]}" -v 127.0.0.1 true 2>&1 </dev/null |
  sed -n 's/.*kex: server->client cipher: \([^ ]*\).*/\1/p' | head -n1)
SSH_CIPHER=${SSH_CIPHER:-unknown}

# ---------------------------------------------------------------- watchdog
# A stage that runs past its limit (a hung client) gets its client processes
# killed (by pid: the descendants of this script except sshd, trexd and the
# watchdog itself) and is reported as timed out instead of hanging the run.
kill_clients() {
  local pids me=$BASHPID
  pids=$(ps -e -o pid=,ppid= | awk -v root=$$ -v skip=" $SSHD_PID $TREXD_PID $FSYNC_PID $SYS_PID $CHAIN_PID $me " '
    { kids[$2] = kids[$2] " " $1 }
    END {
      n = split(kids[root], q, " ")
      while (n > 0) {
        p = q[n--]
        if (index(skip, " " p " ")) continue
        print p
        m = split(kids[p], c, " ")
        for (i = 1; i <= m; i++) q[++n] = c[i]
      }
    }')
  [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
}
wd_start() {  # LIMIT_SECONDS STAGE
  (
    trap 'kill $sp 2>/dev/null; exit 0' TERM
    sleep "$1" & sp=$!
    wait $sp
    echo "$2: stopped after $1 s (a client hung); client processes killed" >>"$T/timeouts"
    kill_clients
  ) &
  WD_PID=$!
}
wd_stop() {
  [ -n "$WD_PID" ] || return 0
  kill "$WD_PID" 2>/dev/null || true
  wait "$WD_PID" 2>/dev/null || true
  WD_PID=''
}

# ---------------------------------------------------------------- measuring
# timed CMD...: runs CMD, sets _us to its wall time in microseconds.
timed() {
  local t0=${EPOCHREALTIME/./} rc=0
  "$@" || rc=$?
  _us=$((${EPOCHREALTIME/./} - t0))
  return $rc
}

declare -A FAILS=() NOTES=()
# run_figure FIG REPS WARMUP SIDE...: each SIDE names a function SIDE_FIG that
# sets _us (and returns non-zero on failure). Results go to arrays R_FIG_SIDE.
run_figure() {
  local fig=$1 reps=$2 warm=$3 i j n side
  shift 3
  local sides=("$@") order
  n=${#sides[@]}
  for side in "${sides[@]}"; do declare -ga "R_${fig}_${side}=()"; FAILS[${fig}_$side]=${FAILS[${fig}_$side]:-0}; done
  for ((i = 0; i < warm; i++)); do
    for side in "${sides[@]}"; do
      "${side}_$fig" || FAILS[${fig}_$side]=$((FAILS[${fig}_$side] + 1))
    done
  done
  for ((i = 0; i < reps; i++)); do
    order=()
    for ((j = 0; j < n; j++)); do
      if ((i % 2)); then order+=("${sides[n - 1 - j]}"); else order+=("${sides[j]}"); fi
    done
    for side in "${order[@]}"; do
      if "${side}_$fig"; then
        local -n arr="R_${fig}_${side}"
        arr+=("$_us")
        unset -n arr
      else
        FAILS[${fig}_$side]=$((FAILS[${fig}_$side] + 1))
      fi
    done
  done
}

median() {  # values... -> median (empty string when none)
  (($#)) || { echo ''; return; }
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
spread() {  # values... -> "n=N min..max"
  (($#)) || { echo 'n=0'; return; }
  printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { printf "n=%d min %s max %s", NR, a[1], a[NR] }'
}
med_of() { local -n a="R_$1"; median "${a[@]}"; }
spread_of() { local -n a="R_$1"; spread "${a[@]}"; }

ERR_TREX=$T/trex.stderr ERR_SSH=$T/ssh.stderr
: >"$ERR_TREX"
: >"$ERR_SSH"
note_err() {  # SIDE RC WHAT: keep the first failures' details for the report
  local file=$ERR_SSH
  [ "$1" = trex ] && file=$ERR_TREX
  echo "^^^ (above) $3: exit $2" >>"$file"
}

# (1) one client process per `true`, new connection each time
trex_f1() { timed "$TREX" "$TH" true </dev/null >/dev/null 2>>"$ERR_TREX" || { note_err trex $? "trex $TH true"; return 1; }; }
ssh_f1() { timed "${SSH[@]}" 127.0.0.1 true </dev/null >/dev/null 2>>"$ERR_SSH" || { note_err ssh $? "ssh true"; return 1; }; }

# (1f) the same with connection reuse (trex --persist: the first run leaves a
# master, later runs hand it their command) beside the cold run and the
# two-process floor (the client's start and the command's), interleaved.
cold_f1f() { trex_f1; }
reuse_f1f() { timed "$TREX" --persist 600 "$TH" true </dev/null >/dev/null 2>>"$ERR_TREX" || { note_err trex $? "trex --persist 600 $TH true"; return 1; }; }
two_f1f() { timed two_true; }

# (1e) the same with a two-level chain (root + intermediate, two CRLs) beside
# the flat CA, interleaved in one run.
flat_f1e() { trex_f1; }
chain_f1e() { timed "${CHAIN_TREX[@]}" "127.0.0.1:$CHAIN_PORT" true </dev/null >/dev/null 2>>"$ERR_TREX" || { note_err trex $? "trex (chain) true"; return 1; }; }

# (2) K commands on one open session
seq "$K" | sed 's/.*/true/' >"$T/lines"
trex_f2() { timed "$TREX" "$TH" <"$T/lines" >/dev/null 2>>"$ERR_TREX" || { note_err trex $? "trex $TH <$K x true>"; return 1; }; }
fsync_f2() { timed "$TREX" "127.0.0.1:$FSYNC_PORT" <"$T/lines" >/dev/null 2>>"$ERR_TREX" || { note_err trex $? "trex --audit-fsync server <$K x true>"; return 1; }; }
mux_k() {
  local i
  for ((i = 0; i < K; i++)); do "${SSH[@]}" -S "$MUX" 127.0.0.1 true </dev/null >/dev/null || return; done
}
ssh_f2() { timed mux_k 2>>"$ERR_SSH" || { note_err ssh $? "ssh -S mux true (x$K)"; return 1; }; }

# (3) BYTES of stdout to /dev/null
trex_f3() { timed "$TREX" "$TH" head -c "$BYTES" /dev/zero </dev/null >/dev/null 2>>"$ERR_TREX" || { note_err trex $? "trex head -c $BYTES"; return 1; }; }
ssh_f3() { timed "${SSH[@]}" 127.0.0.1 head -c "$BYTES" /dev/zero </dev/null >/dev/null 2>>"$ERR_SSH" || { note_err ssh $? "ssh head -c $BYTES"; return 1; }; }
trexsys_f3() { timed "$SYS_BIN/trex" "127.0.0.1:$SYS_PORT" head -c "$BYTES" /dev/zero </dev/null >/dev/null 2>>"$ERR_TREX" || { note_err trex $? "trex (Debian libwolfssl) head -c $BYTES"; return 1; }; }
sshaes_f3() { timed "${SSH[@]}" -c aes128-gcm@openssh.com 127.0.0.1 head -c "$BYTES" /dev/zero </dev/null >/dev/null 2>>"$ERR_SSH" || { note_err ssh $? "ssh -c aes128-gcm head -c $BYTES"; return 1; }; }

# (4) CLIENTS concurrent clients x PER_CLIENT commands, new connection each
concurrent() {  # FUNCTION
  local c pids=() fails=0 f
  rm -f "$T"/conc.*
  for ((c = 0; c < CLIENTS; c++)); do
    (
      n=0
      for ((j = 0; j < PER_CLIENT; j++)); do "$1" </dev/null >/dev/null || n=$((n + 1)); done
      echo "$n" >"$T/conc.$c"
    ) &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  for ((c = 0; c < CLIENTS; c++)); do
    f=$(cat "$T/conc.$c" 2>/dev/null || echo "$PER_CLIENT")
    fails=$((fails + f))
  done
  CONC_FAILS=$fails
  ((fails == 0))
}
one_trex() { "$TREX" "$TH" true 2>>"$ERR_TREX" || { note_err trex $? "concurrent trex true"; return 1; }; }
one_ssh() { "${SSH[@]}" 127.0.0.1 true 2>>"$ERR_SSH" || { note_err ssh $? "concurrent ssh true"; return 1; }; }
one_reuse() { "$TREX" --persist 600 "$TH" true 2>>"$ERR_TREX" || { note_err trex $? "concurrent trex --persist true"; return 1; }; }
reuse_f4() { timed concurrent one_reuse; local rc=$?; NOTES[f4_reuse]+=" $CONC_FAILS"; return $rc; }
trex_f4() { timed concurrent one_trex; local rc=$?; NOTES[f4_trex]+=" $CONC_FAILS"; return $rc; }
ssh_f4() { timed concurrent one_ssh; local rc=$?; NOTES[f4_ssh]+=" $CONC_FAILS"; return $rc; }
# (4b) the same harness with no network: one /bin/true per command (the
# client's process), and two (the client's and the command's on the server):
# a new-connection command cannot cost less than the second.
one_true() { /bin/true; }
two_true() { /bin/true && /bin/true; }
true1_f4() { timed concurrent one_true; }
true2_f4() { timed concurrent two_true; }

# (6) first byte: from the command's write (it prints `date +%s%N`, same
# machine clock) to the line's arrival at the client, new connection
FB=$ROOT/tests/bench/first_byte.py
first_byte() {  # SIDE CMD...
  local side=$1 out rc=0 file=$ERR_SSH
  shift
  [ "$side" = trex ] && file=$ERR_TREX
  out=$(python3 "$FB" "$@" 2>>"$file") || rc=$?
  if ((rc)) || [ -z "$out" ]; then note_err "$side" "$rc" "first byte: $*"; return 1; fi
  _us=$out
}
trex_f6() { first_byte trex --stamped "$TREX" "$TH" sh -c 'date +%s%N; sleep 1'; }
ssh_f6() { first_byte ssh --stamped "${SSH[@]}" 127.0.0.1 "sh -c 'date +%s%N; sleep 1'"; }
# (6b) the same from the client's start: process start and handshake included.
trex_f6b() { first_byte trex "$TREX" "$TH" sh -c 'echo x; sleep 1'; }
ssh_f6b() { first_byte ssh "${SSH[@]}" 127.0.0.1 "sh -c 'echo x; sleep 1'"; }

# (8) one file of FILE_BYTES copied to and from the loopback host: trex put /
# get against scp (the same sshd, default cipher); both land on the same disk.
SCP=(scp -q -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
     -o BatchMode=yes -o LogLevel=ERROR -i "$T/ssh/client_ed25519" -P "$SSH_PORT")
FILES=$T/files
trex_f8() { timed "$TREX" put -q "$FILES/src.bin" "$TH:$FILES/put-trex.bin" </dev/null 2>>"$ERR_TREX" || { note_err trex $? "put"; return 1; }; }
ssh_f8() { timed "${SCP[@]}" "$FILES/src.bin" "127.0.0.1:$FILES/put-scp.bin" </dev/null 2>>"$ERR_SSH" || { note_err ssh $? "scp put"; return 1; }; }
trex_f8b() { timed "$TREX" get -q "$TH:$FILES/src.bin" "$FILES/get-trex.bin" </dev/null 2>>"$ERR_TREX" || { note_err trex $? "get"; return 1; }; }
ssh_f8b() { timed "${SCP[@]}" "127.0.0.1:$FILES/src.bin" "$FILES/get-scp.bin" </dev/null 2>>"$ERR_SSH" || { note_err ssh $? "scp get"; return 1; }; }

# ---------------------------------------------------------------- run
say "checking that both sides deliver exactly 1 MiB of output"
for side in trex ssh; do
  if [ $side = trex ]; then got=$("$TREX" "$TH" head -c 1048576 /dev/zero </dev/null | wc -c)
  else got=$("${SSH[@]}" 127.0.0.1 head -c 1048576 /dev/zero </dev/null | wc -c); fi
  [ "$got" -eq 1048576 ] || die "$side delivered $got bytes instead of 1048576"
done

t_start=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "(1) new connection per 'true': $W1 warm-up + $N1 repetitions each"
wd_start 1800 "(1) new connection"
run_figure f1 "$N1" "$W1" trex ssh
wd_stop

say "(1f) new connection: cold, with --persist, and two /bin/true: $W1 warm-up + $N1 repetitions each"
wd_start 1800 "(1f) reuse"
run_figure f1f "$N1" "$W1" cold reuse two
wd_stop

say "(1e) new connection, flat CA vs root + intermediate: $W1 warm-up + $N1 repetitions each"
wd_start 1800 "(1e) chain"
run_figure f1e "$N1" "$W1" flat chain
wd_stop

# (1b) the floors under (1): a process that does nothing, trex's own
# start-up (no network), and the TLS client alone would add little more.
true_f0() { timed /bin/true; }
version_f0() { timed "$TREX" --version >/dev/null; }
two_f0() { timed two_true; }
say "(1b) process floors: /bin/true and trex --version, $N1 repetitions each"
run_figure f0 "$N1" "$W1" true version two

# (1d) the per-user config's start-up cost: (1) with an empty config file
# and with the 200-host one, alternated; and the parse alone, in-process.
noconf_f1d() { TREX_CONFIG=$T/empty.toml timed "$TREX" "$TH" true </dev/null >/dev/null 2>>"$ERR_TREX"; }
conf200_f1d() { TREX_CONFIG=$T/config200.toml timed "$TREX" "$TH" true </dev/null >/dev/null 2>>"$ERR_TREX"; }
say "(1d) trex HOST true with an empty and a 200-host config, $N1 repetitions each"
run_figure f1d "$N1" "$W1" noconf conf200
# In-process: the file read and parsed keeping one host's entry, as `trex
# HOST` does (every entry is still checked), and keeping all, as -g does.
CONFIG_PARSE_US='' CONFIG_PARSE_ALL_US=''
if [ -x "$BIN/tests/config_bench" ] && out=$("$BIN/tests/config_bench" "$T/config200.toml" 2000 lab100 2>&1); then
  CONFIG_PARSE_US=$(awk '$1 == "parse_us" { print $2 }' <<<"$out")
fi
if [ -x "$BIN/tests/config_bench" ] && out=$("$BIN/tests/config_bench" "$T/config200.toml" 2000 2>&1); then
  CONFIG_PARSE_ALL_US=$(awk '$1 == "parse_us" { print $2 }' <<<"$out")
fi

say "(2) open session: $N2 repetitions of $K commands each (ssh ControlMaster)"
MUX=$T/ssh/mux.sock
"${SSH[@]}" -M -S "$MUX" -fN 127.0.0.1 </dev/null 2>>"$ERR_SSH" || die "cannot start the ssh ControlMaster"
for _ in $(seq 50); do [ -S "$MUX" ] && break; sleep 0.1; done
wd_start 1800 "(2) open session"
run_figure f2 "$N2" 1 trex ssh fsync
wd_stop
"${SSH[@]}" -S "$MUX" -O exit 127.0.0.1 2>/dev/null || true
MUX=''

say "(3) $((BYTES >> 20)) MiB of stdout: $N3 repetitions each (ssh: default cipher $SSH_CIPHER, aes128-gcm)"
BYTES_RUN=$BYTES
BYTES=$((64 << 20))  # warm-up with 64 MiB
F3_SIDES=(trex ssh sshaes)
[ -z "$SYS_PID" ] || F3_SIDES+=(trexsys)
run_figure f3 0 1 "${F3_SIDES[@]}"
BYTES=$BYTES_RUN
wd_start 1800 "(3) throughput"
run_figure f3 "$N3" 0 "${F3_SIDES[@]}"
wd_stop

say "(4) $CLIENTS clients x $PER_CLIENT commands: $N4 repetitions each"
wd_start 1800 "(4) concurrent"
"$TREX" --persist 600 "$TH" true </dev/null >/dev/null 2>>"$ERR_TREX" || true  # the master of (4r)
run_figure f4 "$N4" 0 trex ssh true1 true2 reuse
wd_stop

say "(6) first byte of output: $N6 repetitions each"
wd_start 900 "(6) first byte"
run_figure f6 "$N6" 1 trex ssh
run_figure f6b "$N6" 1 trex ssh
wd_stop

# (9) keystroke echo through a terminal: one byte to the remote line
# discipline (a `cat` on the remote pty) and its echo back, N9 round trips.
say "(9) keystroke echo through a terminal: $N9 round trips each"
EL=$ROOT/tests/bench/echo_latency.py
wd_start 600 "(9) echo"
E9_TREX=$(python3 "$EL" -n "$N9" "$TREX" -t "$TH" sh -c 'echo ready; exec cat' 2>>"$ERR_TREX") ||
  { note_err trex $? "echo latency"; E9_TREX=; }
E9_SSH=$(python3 "$EL" -n "$N9" "${SSH[@]}" -tt 127.0.0.1 "sh -c 'echo ready; exec cat'" 2>>"$ERR_SSH") ||
  { note_err ssh $? "echo latency"; E9_SSH=; }
wd_stop

say "(8) a $((FILE_BYTES >> 20)) MiB file put and got: $N8 repetitions each (scp: default cipher $SSH_CIPHER)"
mkdir -p "$FILES"
head -c "$FILE_BYTES" /dev/urandom >"$FILES/src.bin"
wd_start 1800 "(8) files"
run_figure f8 "$N8" 1 trex ssh
run_figure f8b "$N8" 1 trex ssh
wd_stop
for f in put-trex put-scp get-trex get-scp; do
  cmp -s "$FILES/src.bin" "$FILES/$f.bin" || NOTES[f8_$f]=" $f.bin differs from the source"
done
rm -rf "$FILES"

# (7) the audit trail: writing and verifying 1,000,000 records. The writer's
# time per record (in-process, the same code trexd runs) against (2)'s time
# per command gives the audit's share of a command (exec_start + exec_end).
AUDIT_BENCH=$BIN/tests/audit_bench AUDIT_N=1000000
AUDIT_WRITE_US='' AUDIT_VERIFY_US=''
if [ -x "$AUDIT_BENCH" ] && [ -x "$BIN/trex-audit" ]; then
  say "(7) audit trail: write and verify $AUDIT_N records"
  mkdir -p "$T/audit1m"
  if out=$("$AUDIT_BENCH" "$AUDIT_N" "$T/audit1m" 2>&1); then
    AUDIT_WRITE_US=$(awk '/^write/ { gsub(/[(]/, "", $4); print $4 }' <<<"$out")
    R_f7=()
    for _ in 1 2 3; do
      timed "$BIN/trex-audit" verify "$T/audit1m/audit.jsonl" >/dev/null 2>&1 && R_f7+=("$_us")
    done
    AUDIT_VERIFY_US=$(median "${R_f7[@]}")
  else
    say "audit_bench failed: $out"
  fi
  rm -rf "$T/audit1m"
fi

# (7b) reviewing the trail: trex-audit show/stats/verify of 1,000,000 records
# of sessions and commands, and --follow's latency from write to screen.
REVIEW_OUT=''
if [ -x "$BIN/tests/review_bench" ] && [ -x "$BIN/trex-audit" ]; then
  say "(7b) trex-audit show/stats of $AUDIT_N records, --follow latency"
  REVIEW_OUT=$(tests/bench/review_bench.sh "$BIN" "$AUDIT_N" 2>&1) || say "review_bench failed: $REVIEW_OUT"
fi

# (3d) SHA-256 of command output (exec_end's stdout_sha256), in-process.
SHA_BENCH=$BIN/tests/sha_bench SHA_BEST='' SHA_WOLF='' SHA_HW=''
if [ -x "$SHA_BENCH" ] && out=$("$SHA_BENCH" 256 2>&1); then
  SHA_HW=$(awk '$1 == "hardware" { print $2 }' <<<"$out")
  SHA_BEST=$(awk '$1 == "best" { print $2 }' <<<"$out")
  SHA_WOLF=$(awk '$1 == "wolfcrypt" { print $2 }' <<<"$out")
fi

# (5) trexd's memory after everything above
rss_kb() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status" 2>/dev/null; }
TREXD_RSS=$(rss_kb "$TREXD_PID" VmRSS) TREXD_HWM=$(rss_kb "$TREXD_PID" VmHWM)
TREXD_THREADS=$(awk '$1 == "Threads:" { print $2 }' "/proc/$TREXD_PID/status" 2>/dev/null || echo '?')
SSHD_RSS=$(rss_kb "$SSHD_PID" VmRSS)
kill -0 "$TREXD_PID" 2>/dev/null || say "WARNING: trexd is no longer running"
elapsed=$((SECONDS - t_start))
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
f() { awk -v x="$1" -v d="${2:-2}" 'BEGIN { printf "%.*f", d, x }'; }
calc() { awk "BEGIN { print $1 }"; }
ok() { if awk "BEGIN { exit !($1) }"; then echo met; else echo 'NOT met'; fi; }
frac() { awk -v r="$1" 'BEGIN { if (r > 0) printf "%.3f (1/%.1f)", r, 1 / r; else print "n/a" }'; }
have() { [ -n "$1" ] && [ -n "$2" ]; }

rows=()
# (1)
a=$(med_of f1_trex) b=$(med_of f1_ssh)
if have "$a" "$b"; then
  r=$(calc "$a / $b")
  rows+=("| (1) new connection per \`true\`, ms/command | $(f "$(calc "$a / 1000")") | $(f "$(calc "$b / 1000")") | $(frac "$r") | ≤ 1/25: $(ok "$r <= 1/25"); ≤ 1/40: $(ok "$r <= 1/40") |")
else rows+=("| (1) new connection per \`true\`, ms/command | ${a:-failed} | ${b:-failed} | n/a | ≤ 1/25, ≤ 1/40: NOT met (no result) |"); fi
a=$(med_of f0_true) b=$(med_of f0_version) c=$(med_of f0_two) d=$(med_of f1_ssh)
if have "$a" "$b"; then
  rows+=("| (1b) floors under (1), ms: \`/bin/true\` run by bash; \`trex --version\` | $(f "$(calc "$a / 1000")") | $(f "$(calc "$b / 1000")") | — | (for information: trex's (1) starts one client process, and the server one for the command) |")
fi
if have "$c" "$d"; then
  rows+=("| (1c) floor under (1): two \`/bin/true\` in a row (client + command), ms | $(f "$(calc "$c / 1000")") | | $(frac "$(calc "$c / $d")") | (for information: 1/40 of ssh is $(f "$(calc "$d / 40000")") ms) |")
fi
a=$(med_of f1f_cold) b=$(med_of f1f_reuse) c=$(med_of f1f_two)
if have "$a" "$c" && [ -n "$b" ]; then
  ra=$(calc "$a / $c") rb=$(calc "$b / $c")
  rows+=("| (1f) new-connection \`true\`: cold; with \`--persist\` (through a connection master); ms, and ÷ the two-process floor ($(f "$(calc "$c / 1000")") ms, same run) | $(f "$(calc "$a / 1000")") ($(f "$ra")x) | $(f "$(calc "$b / 1000")") ($(f "$rb")x) | — | cold ≤ 2.0x: $(ok "$ra <= 2.0"); reuse ≤ 1.4x: $(ok "$rb <= 1.4") |")
fi
a=$(med_of f1d_noconf) b=$(med_of f1d_conf200)
if have "$a" "$b"; then
  rows+=("| (1d) \`trex HOST true\` with a config of 200 hosts and 20 groups; with an empty one, ms | $(f "$(calc "$b / 1000")") | $(f "$(calc "$a / 1000")") | — | 200-host config adds $(f "$(calc "($b - $a) / 1000")") ms (median difference, noisy); reading and parsing it alone for one host (as \`trex HOST\`): ${CONFIG_PARSE_US:-?} µs (every host, as -g: ${CONFIG_PARSE_ALL_US:-?} µs); ≤ 0.3 ms: $(ok "${CONFIG_PARSE_US:-1000} <= 300") |")
fi
a=$(med_of f1e_chain) b=$(med_of f1e_flat)
if have "$a" "$b"; then
  d=$(calc "($a - $b) / 1000")
  rows+=("| (1e) new connection with a two-level chain (leaf + intermediate, 2 CRLs) vs the flat CA, ms | $(f "$(calc "$a / 1000")") | $(f "$(calc "$b / 1000")") (flat) | +$(f "$d" 3) ms | ≤ +0.5 ms: $(ok "$d <= 0.5") |")
fi
# (2)
a=$(med_of f2_trex) b=$(med_of f2_ssh)
if have "$a" "$b"; then
  r=$(calc "$a / $b")
  rows+=("| (2) command on an open session, ms/command ($K per session) | $(f "$(calc "$a / $K / 1000")" 3) | $(f "$(calc "$b / $K / 1000")" 3) | $(frac "$r") | ≤ 1/7: $(ok "$r <= 1/7"); ≤ 1/8: $(ok "$r <= 1/8") |")
else rows+=("| (2) command on an open session, ms/command | ${a:-failed} | ${b:-failed} | n/a | ≤ 1/7, ≤ 1/8: NOT met (no result) |"); fi
a=$(med_of f2_trex) b=$(med_of f2_fsync)
if have "$a" "$b"; then
  rows+=("| (2b) same, trexd with \`--audit-fsync\`, ms/command | $(f "$(calc "$b / $K / 1000")" 3) | | $(f "$(calc "$b / $a")")x of (2) | (for information: fsync on) |")
fi
# (3)
a=$(med_of f3_trex) b=$(med_of f3_ssh) c=$(med_of f3_sshaes)
MIB=$((BYTES >> 20))
if have "$a" "$b"; then
  ta=$(calc "$BYTES / $a") tb=$(calc "$BYTES / $b")
  r=$(calc "$ta / $tb")
  rows+=("| (3) $MIB MiB stdout → /dev/null, MB/s (ssh: default $SSH_CIPHER) | $(f "$ta" 0) | $(f "$tb" 0) | $(f "$r")x | ≥ 200 MB/s: $(ok "$ta >= 200"); ≥ 1.5x ssh: $(ok "$r >= 1.5") |")
else rows+=("| (3) $MIB MiB stdout, MB/s (ssh default cipher) | ${a:-failed} | ${b:-failed} | n/a | NOT met (no result) |"); fi
if have "$a" "$c"; then
  ta=$(calc "$BYTES / $a") tc=$(calc "$BYTES / $c")
  rows+=("| (3b) same, ssh \`-c aes128-gcm@openssh.com\`, MB/s | $(f "$ta" 0) | $(f "$tc" 0) | $(f "$(calc "$ta / $tc")")x | above ssh's aes128-gcm: $(ok "$ta > $tc") |")
else rows+=("| (3b) same, ssh aes128-gcm, MB/s | ${a:-failed} | ${c:-failed} | n/a | (for information) |"); fi
c=''
declare -p R_f3_trexsys &>/dev/null && c=$(med_of f3_trexsys)
if have "$c" "$b"; then
  tc=$(calc "$BYTES / $c") tb=$(calc "$BYTES / $b")
  rows+=("| (3c) same, trex on Debian's libwolfssl (no assembly), MB/s | $(f "$tc" 0) | $(f "$tb" 0) | $(f "$(calc "$tc / $tb")")x | (for information) |")
fi
if [ -n "$SHA_BEST" ] && [ -n "$SHA_WOLF" ]; then
  rows+=("| (3d) SHA-256 of output (stdout_sha256), MB/s: trex's (SHA extensions on this CPU: $SHA_HW); wolfCrypt's | $SHA_BEST | $SHA_WOLF | $(f "$(calc "$SHA_BEST / $SHA_WOLF")")x | (for information: the ssh column is wolfCrypt here) |")
fi
# (4)
a=$(med_of f4_trex) b=$(med_of f4_ssh)
NCMD=$((CLIENTS * PER_CLIENT))
if have "$a" "$b"; then
  ra=$(calc "$NCMD * 1000000 / $a") rb=$(calc "$NCMD * 1000000 / $b")
  r=$(calc "$ra / $rb")
  rows+=("| (4) $CLIENTS clients × $PER_CLIENT commands, new connections, commands/s | $(f "$ra" 0) | $(f "$rb" 0) | $(f "$r" 1)x | ≥ 20x: $(ok "$r >= 20"); ≥ 25x: $(ok "$r >= 25") |")
else rows+=("| (4) $CLIENTS × $PER_CLIENT concurrent, commands/s | ${a:-failed} | ${b:-failed} | n/a | ≥ 20x, ≥ 25x: NOT met (no result) |"); fi
a=$(med_of f4_true1) c=$(med_of f4_true2) b=$(med_of f4_ssh)
if have "$a" "$c" && [ -n "$b" ]; then
  ra=$(calc "$NCMD * 1000000 / $a") rc=$(calc "$NCMD * 1000000 / $c") rb=$(calc "$NCMD * 1000000 / $b")
  rows+=("| (4b) floors under (4), commands/s: one \`/bin/true\` per command; two (client + command) | $(f "$ra" 0) | $(f "$rc" 0) | $(f "$(calc "$rc / $rb")" 1)x (two ÷ ssh) | (for information: 25x ssh needs $(f "$(calc "25 * $rb")" 0)/s) |")
fi
a=$(med_of f4_trex) b=$(med_of f4_reuse) c=$(med_of f4_true2)
if have "$a" "$c" && [ -n "$b" ]; then
  ra=$(calc "$NCMD * 1000000 / $a") rb=$(calc "$NCMD * 1000000 / $b") rc=$(calc "$NCMD * 1000000 / $c")
  pa=$(calc "100 * $ra / $rc") pb=$(calc "100 * $rb / $rc")
  rows+=("| (4r) $CLIENTS × $PER_CLIENT, commands/s: new connections; with \`--persist\`; as % of the two-process floor ($(f "$rc" 0)/s, same run) | $(f "$ra" 0) ($(f "$pa" 0) %) | $(f "$rb" 0) ($(f "$pb" 0) %) | — | ≥ 80 % of the floor: cold $(ok "$pa >= 80"), reuse $(ok "$pb >= 80") |")
fi
# (5)
if [ -n "$TREXD_RSS" ]; then
  rows+=("| (5) trexd RSS after the benchmark, MiB (peak $(f "$(calc "$TREXD_HWM / 1024")" 1), $TREXD_THREADS threads) | $(f "$(calc "$TREXD_RSS / 1024")" 1) | ${SSHD_RSS:+$(f "$(calc "$SSHD_RSS / 1024")" 1) (sshd listener)} | — | ≤ 32 MiB: $(ok "$TREXD_RSS <= 32768") |")
else rows+=("| (5) trexd RSS after the benchmark, MiB | trexd not running | | — | ≤ 32 MiB: NOT met (trexd gone) |"); fi
# (6)
a=$(med_of f6_trex) b=$(med_of f6_ssh)
if have "$a" "$b"; then
  rows+=("| (6) first byte after the command writes it (\`date +%s%N\` to arrival), ms | $(f "$(calc "$a / 1000")") | $(f "$(calc "$b / 1000")") | $(frac "$(calc "$a / $b")") | < 5 ms: $(ok "$a < 5000") |")
else rows+=("| (6) first byte after the command writes it, ms | ${a:-failed} | ${b:-failed} | n/a | < 5 ms: NOT met (no result) |"); fi
a=$(med_of f6b_trex) b=$(med_of f6b_ssh)
if have "$a" "$b"; then
  rows+=("| (6b) first byte of \`sh -c 'echo x; sleep 1'\` from the client's start, ms | $(f "$(calc "$a / 1000")") | $(f "$(calc "$b / 1000")") | $(frac "$(calc "$a / $b")") | (for information: start-up and handshake included) |")
fi
# (9)
if have "$E9_TREX" "$E9_SSH"; then
  read -r a ap <<<"$E9_TREX"
  read -r b bp <<<"$E9_SSH"
  rows+=("| (9) keystroke echo, \`trex -t\` vs \`ssh -tt\` ($N9 single-byte round trips), µs: median; p99 | $a; $ap | $b; $bp | $(frac "$(calc "$a / $b")") | below ssh's: median $(ok "$a < $b"), p99 $(ok "$ap < $bp") |")
else rows+=("| (9) keystroke echo through a terminal, µs | ${E9_TREX:-failed} | ${E9_SSH:-failed} | n/a | below ssh's: NOT met (no result) |"); fi
# (7)
if [ -n "$AUDIT_VERIFY_US" ]; then
  rows+=("| (7) \`trex-audit verify\` of $AUDIT_N records, s | $(f "$(calc "$AUDIT_VERIFY_US / 1000000")") | | — | < 5 s: $(ok "$AUDIT_VERIFY_US < 5000000") |")
fi
a=$(med_of f2_trex)
if [ -n "$AUDIT_WRITE_US" ] && [ -n "$a" ]; then
  share=$(calc "2 * $AUDIT_WRITE_US / ($a / $K) * 100")
  rows+=("| (7b) audit records per command (2 × $(f "$AUDIT_WRITE_US" 1) µs, fsync off) as % of (2) | $(f "$share" 1) % | | — | < 10 %: $(ok "$share < 10") |")
fi
# (7c) trex-audit on a large trail (issue 17's targets: show and stats < 3 s, --follow < 100 ms)
if [ -n "$REVIEW_OUT" ]; then
  for fig in show show-csv show-filtered stats; do
    v=$(awk -v k="$fig" '$1 == k { print $2 }' <<<"$REVIEW_OUT")
    c=$(awk -v k="$fig" '$1 == k { print $3 }' <<<"$REVIEW_OUT")
    if [ -n "$v" ]; then
      rows+=("| (7c) \`trex-audit ${fig/-csv/ --format csv}\` of $AUDIT_N records, s wall (CPU) | $v ($c) | | — | < 3 s: $(ok "$v < 3") |")
    fi
  done
  grep ' failed' <<<"$REVIEW_OUT" | sed 's/^/bench: (7c) /' >&2 || true
  v=$(sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' <<<"$REVIEW_OUT")
  if [ -n "$v" ]; then
    rows+=("| (7d) \`trex-audit show --follow\`: record to screen, median ms | $v | | — | < 100 ms: $(ok "$v < 100") |")
  fi
fi

# (8)
for fig in f8 f8b; do
  a=$(med_of ${fig}_trex) b=$(med_of ${fig}_ssh)
  what=$([ $fig = f8 ] && echo "trex put vs scp to" || echo "trex get vs scp from")
  bad="${NOTES[f8_put-trex]:-}${NOTES[f8_put-scp]:-}${NOTES[f8_get-trex]:-}${NOTES[f8_get-scp]:-}"
  if have "$a" "$b"; then
    ta=$(calc "$FILE_BYTES / $a") tb=$(calc "$FILE_BYTES / $b")
    r=$(calc "$ta / $tb")
    rows+=("| (8${fig#f8}) $((FILE_BYTES >> 20)) MiB file, $what the host, MB/s (scp: default $SSH_CIPHER)${bad:+; NOT identical:$bad} | $(f "$ta" 0) | $(f "$tb" 0) | $(f "$r")x | ≥ 1.5x scp: $(ok "$r >= 1.5") |")
  else rows+=("| (8${fig#f8}) $((FILE_BYTES >> 20)) MiB file, $what the host, MB/s | ${a:-failed} | ${b:-failed} | n/a | NOT met (no result) |"); fi
done
echo
echo "## trex vs OpenSSH on loopback ($([ $quick = 1 ] && echo quick || echo full) run, $(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -r); $("$TREX" --version 2>&1 | head -n1); $(ssh -V 2>&1); medians of alternated repetitions; ratio = trex ÷ ssh; $elapsed s; load average $LOAD_START at the start, $LOAD_END at the end."
echo
echo "| figure | trex | ssh | ratio | target |"
echo "| --- | ---: | ---: | ---: | --- |"
printf '%s\n' "${rows[@]}"
echo
echo "Repetitions (raw values in µs of wall time per repetition; failures are not in the medians):"
for key in f0_true f0_version f0_two f1_trex f1_ssh f1f_cold f1f_reuse f1f_two f2_trex f2_ssh f2_fsync f3_trex f3_trexsys f3_ssh f3_sshaes f4_trex f4_ssh f4_true1 f4_true2 f4_reuse f6_trex f6_ssh f6b_trex f6b_ssh; do
  declare -p "R_$key" &>/dev/null || continue
  printf -- '- %-10s %s, failures %s\n' "$key" "$(spread_of "$key")" "${FAILS[$key]:-0}"
done
echo "- (4) failed commands per repetition: trex${NOTES[f4_trex]:- none}; ssh${NOTES[f4_ssh]:- none}; trex --persist${NOTES[f4_reuse]:- none}"
echo "- trex's (1) runs argv directly (no shell); ssh's runs \`true\` through the login shell. (2) runs \`sh -c\` per line on trex, the login shell per command on ssh; the ssh master is started before the timing, trex's connection is inside it."
if [ -s "$T/timeouts" ]; then
  echo
  echo "Timeouts:"
  sed 's/^/- /' "$T/timeouts"
fi
for side in trex ssh; do
  file=$ERR_TREX
  [ $side = ssh ] && file=$ERR_SSH
  if [ -s "$file" ]; then
    echo
    echo "First lines of $side's stderr during the benchmark ($(grep -c '^^^^ ' "$file" || true) failed runs):"
    echo '```'
    head -n 20 "$file"
    echo '```'
  fi
done
