# Sourced by the tools: installs the Debian packages trex needs, only those
# missing, with sudo when not root. Usage: trex_install_deps build [test] [bench]
trex_install_deps() {
  local want=(cmake ninja-build g++ pkg-config ccache openssl
              libwolfssl-dev libboost-dev libboost-filesystem-dev libspdlog-dev libfmt-dev
              libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libgtest-dev
              libedit-dev libncurses-dev libbsd-dev libmd-dev)  # trex links their archives
  local set
  for set in "$@"; do
    case "$set" in
      # libclang-rt-dev: the sanitizer and libFuzzer runtimes of the default clang
      # (the fuzz preset), whatever its version; a fixed -14- breaks on another release
      test) want+=(libgtest-dev clang clang-format libclang-rt-dev procps python3 tcpdump
                  easy-rsa golang-cfssl  # interop_test: the CA tools labs run
                  man-db groff-base  # man_test renders the man pages
                  chromium  # it_report renders trex-audit's HTML report
                  rsyslog) ;;  # it_syslog: trexd --audit-syslog into a real rsyslogd
      bench) want+=(openssh-server openssh-client hyperfine) ;;
    esac
  done
  local missing=() p
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# Prints the preset the README commands build: release-asm (wolfSSL built
# from Debian's source with its assembly, about 2.5x the throughput here) when
# tools/wolfssl-asm.sh succeeds, else release with Debian's libwolfssl.
# TREX_WOLFSSL=system skips the attempt. Progress goes to stderr.
trex_default_preset() {
  if [ "${TREX_WOLFSSL:-asm}" = system ]; then
    echo release
    return
  fi
  if tools/wolfssl-asm.sh >&2; then
    echo release-asm
  else
    echo "warning: could not build wolfSSL with assembly; using Debian's libwolfssl (slower)" >&2
    echo release
  fi
}
