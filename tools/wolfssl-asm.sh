#!/usr/bin/env bash
# Builds wolfSSL from Debian's source package (Debian's patches applied) with
# the x86-64 assembly (AES-NI, AVX2, SP math asm) enabled, into DEST/prefix.
# Touches nothing outside DEST: apt uses a private sources list, lists and
# cache directory under DEST; the machine's apt configuration is not changed.
#   tools/wolfssl-asm.sh [DEST]     default DEST: build/wolfssl-asm
# Then: cmake --preset release-asm (or -DTREX_WOLFSSL_ASM=ON
# -DTREX_WOLFSSL_PREFIX=DEST/prefix). Environment: JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
esac
dest=${1:-build/wolfssl-asm}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
prefix=$dest/prefix
jobs=${JOBS:-$(nproc)}

# Debian's own configuration (--enable-distro --enable-pkcs11, the same
# hardened compiler flags) so the feature set matches the system package, plus
# the x86-64 assembly: AES-NI/AVX2 (intelasm) and the SP math in assembly.
# Without the fixed-point ECC cache: with the SP assembly it is 1.4 MB of
# thread-local storage (sp_cache_1024/521/384/256) in every one of trexd's
# session threads, about 90 MiB of RSS for 64 sessions; trex's Ed25519 and
# X25519 never use it.
flags=(--enable-distro --enable-pkcs11
       --enable-intelasm --enable-aesni --enable-sp --enable-sp-asm --disable-fpecc
       --disable-examples --disable-crypttests)
# Debian's source packages through a private sources list, lists and cache:
# the machine's apt configuration is not read or changed.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || { echo "wolfssl-asm.sh: cannot tell the Debian release (VERSION_CODENAME)" >&2; exit 1; }
apt=$dest/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources" "$apt/prefs"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$apt/sources/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: $keyring

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: $keyring
EOF
aptopts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/sources"
         -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
         -o Dir::Etc::Preferences=/dev/null -o "Dir::Etc::PreferencesParts=$apt/prefs")
# As root apt would drop to the _apt user, which may not be able to write here.
[ "$(id -u)" -ne 0 ] || aptopts+=(-o APT::Sandbox::User=root)

# Our patches (tools/wolfssl-patches/*.patch, speed only): their checksums
# join the flags in the stamp, so a changed patch rebuilds.
patches=(tools/wolfssl-patches/*.patch)
[ -e "${patches[0]}" ] || patches=()
build_id="${flags[*]}"
((${#patches[@]} == 0)) || build_id+=" patches:$(cat "${patches[@]}" | sha256sum | cut -c1-16)"
# The stamp holds the configure flags and the Debian version built. A build
# is kept while both match; a newer source version (a security update) is
# rebuilt. Offline, the existing build is kept.
stamp=$prefix/trex-build
if [ -f "$prefix/lib/libwolfssl.a" ] && [ "$(sed -n 1p "$stamp" 2>/dev/null)" = "$build_id" ]; then
  built=$(sed -n 2p "$stamp")
  latest=''
  if apt-get "${aptopts[@]}" update >/dev/null 2>&1; then
    latest=$(apt-cache "${aptopts[@]}" showsrc wolfssl 2>/dev/null |
      awk '/^Version:/ { print $2 }' | sort -V | tail -n 1)
  fi
  if [ -z "$latest" ] || [ "$latest" = "$built" ]; then
    echo "==> wolfSSL (asm) ${built:-?} already built in $prefix${latest:+ (the newest Debian source)}"
    exit 0
  fi
  echo "==> Debian's wolfssl source is now $latest (built: ${built:-?}): rebuilding"
fi
rm -rf "$prefix"

step="starting"
trap 'echo "wolfssl-asm.sh: FAILED while $step (log: $dest/build.log)" >&2' ERR
log=$dest/build.log
: >"$log"
start=$SECONDS

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

step="installing build dependencies"
want=(autoconf automake libtool dpkg-dev make gcc patch debian-archive-keyring)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing build dependencies: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq >>"$log" 2>&1
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >>"$log" 2>&1
fi

step="fetching Debian's wolfssl source package"
echo "==> fetching the wolfssl source package ($codename, private apt lists in $dest/apt)"
rm -rf "$dest/src"
mkdir -p "$dest/src"
apt-get "${aptopts[@]}" update >>"$log" 2>&1
(cd "$dest/src" && apt-get "${aptopts[@]}" source wolfssl >>"$log" 2>&1)
srcdir=$(find "$dest/src" -mindepth 1 -maxdepth 1 -type d -name 'wolfssl-*' | head -1)
[ -n "$srcdir" ] || { echo "wolfssl-asm.sh: apt-get source produced no wolfssl-* directory" >&2; false; }
echo "==> source: $(basename "$srcdir") (Debian patches applied by dpkg-source)"

# A patch that no longer applies (a Debian update changed the file) is left
# out with a warning: they make wolfSSL faster, not different.
# (Checked whole first: a failed patch would leave some hunks applied.)
step="applying tools/wolfssl-patches"
for p in "${patches[@]}"; do
  if patch -d "$srcdir" -p1 --forward --batch --dry-run <"$p" >>"$log" 2>&1; then
    patch -d "$srcdir" -p1 --forward --batch <"$p" >>"$log" 2>&1
    echo "==> patch $(basename "$p")"
  else
    echo "wolfssl-asm.sh: warning: $p does not apply to $(basename "$srcdir"); building without it" >&2
  fi
done
step="running autogen.sh"
echo "==> autogen.sh"
(cd "$srcdir" && ./autogen.sh >>"$log" 2>&1)

step="configuring wolfSSL"
echo "==> configure ${flags[*]}"
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
# A fresh clone (CI) rebuilds this from scratch: let ccache remember it.
if command -v ccache >/dev/null; then export CC="ccache ${CC:-gcc}"; fi
(cd "$srcdir" && ./configure --prefix="$prefix" --libdir="$prefix/lib" "${flags[@]}" >>"$log" 2>&1)

step="building wolfSSL"
echo "==> make -j$jobs"
make -C "$srcdir" -j"$jobs" >>"$log" 2>&1

step="installing wolfSSL into $prefix"
echo "==> make install (into $prefix)"
make -C "$srcdir" install >>"$log" 2>&1
# A distro build does not install options.h (Debian's packaging copies it).
install -m 644 "$srcdir/wolfssl/options.h" "$prefix/include/wolfssl/options.h"
install -m 644 "$srcdir/cyassl/options.h" "$prefix/include/cyassl/options.h"
[ -f "$prefix/lib/libwolfssl.a" ] || { echo "wolfssl-asm.sh: no libwolfssl.a after install" >&2; false; }
printf '%s\n%s\n' "$build_id" "$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Version)" >"$stamp"
echo "==> done in $((SECONDS - start)) s: $prefix"
