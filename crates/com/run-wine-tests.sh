#!/usr/bin/env bash
# Cross-compiles scanwire-com's tests for x86_64-pc-windows-gnu and runs them under wine.
#
# Installs, when missing (idempotent; needs root for apt-get):
#   - the Rust target x86_64-pc-windows-gnu (rustup target add)
#   - Debian gcc-mingw-w64-x86-64 (the linker) and wine64 (8.0 on bookworm), without recommends
# Everything it creates lives under the cargo target dir ($CARGO_TARGET_DIR, default
# <repo>/target): the private WINEPREFIX and the stub bcryptprimitives.dll (wine 8 lacks
# ProcessPrng, which Rust's std imports). Nothing is cached anywhere else.
#
# Usage: crates/com/run-wine-tests.sh [extra args for the test binaries, e.g. a name filter]
# Env:   SCANWIRE_NO_INSTALL=1  fail instead of installing missing tools
#        SCANWIRE_WINE_TIMEOUT  seconds per test binary (default 600)
# Exit status: the tests' (non-zero also when a tool cannot be installed: the message says which
# and why, for the issue's `blocked` evidence).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -L)
root=$(cd "$here/../.." && pwd -L)
target_dir=${CARGO_TARGET_DIR:-$root/target}
triple=x86_64-pc-windows-gnu
linker=x86_64-w64-mingw32-gcc
timeout_s=${SCANWIRE_WINE_TIMEOUT:-600}

say() { printf '[run-wine-tests] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
step_start=$(date +%s)
step() {
    local now; now=$(date +%s)
    say "$* (+$((now - step_start))s)"
}

find_wine() {
    # Debian's wine64 package ships /usr/lib/wine/wine64; the `wine` package adds the PATH
    # wrappers. Either will do.
    for w in "$(command -v wine64 || true)" /usr/lib/wine/wine64 "$(command -v wine || true)"; do
        if [ -n "$w" ] && [ -x "$w" ]; then
            echo "$w"
            return 0
        fi
    done
    return 1
}

# --- 1. tools -------------------------------------------------------------------------------
step "checking the Rust target $triple"
if ! rustup target list --installed | grep -qx "$triple"; then
    [ -z "${SCANWIRE_NO_INSTALL:-}" ] || die "Rust target $triple is not installed (SCANWIRE_NO_INSTALL is set)"
    rustup target add "$triple" || die "rustup target add $triple failed (see above)"
fi

if ! command -v "$linker" >/dev/null || ! find_wine >/dev/null; then
    [ -z "${SCANWIRE_NO_INSTALL:-}" ] || die "$linker or wine64 is missing (SCANWIRE_NO_INSTALL is set)"
    command -v apt-get >/dev/null || die "$linker or wine64 is missing and apt-get is not available"
    [ "$(id -u)" = 0 ] || die "$linker or wine64 is missing; installing them needs root (apt-get)"
    step "installing gcc-mingw-w64-x86-64 wine64"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends gcc-mingw-w64-x86-64 wine64; then
        apt-get update || die "apt-get update failed (see above)"
        apt-get install -y --no-install-recommends gcc-mingw-w64-x86-64 wine64 \
            || die "apt-get install gcc-mingw-w64-x86-64 wine64 failed (see above)"
    fi
fi
command -v "$linker" >/dev/null || die "$linker not found after installing gcc-mingw-w64-x86-64"
wine=$(find_wine) || die "wine64 not found after installing it"
wine_dir=$(dirname "$wine")
wineserver=$(command -v wineserver || echo "$wine_dir/wineserver")
[ -x "$wineserver" ] || die "wineserver not found next to $wine"
say "wine: $("$wine" --version 2>/dev/null || echo unknown) at $wine; linker: $("$linker" -dumpversion)"

# --- 2. private wine prefix with the ProcessPrng stub ---------------------------------------
wine_root=$target_dir/wine
export WINEPREFIX=$wine_root/prefix
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono/Gecko installers, no display: the tests are console programs.
export WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY
mkdir -p "$wine_root"

stub_src=$here/stub/bcryptprimitives.c
stub_dll=$wine_root/bcryptprimitives.dll
if [ ! -f "$stub_dll" ] || [ "$stub_src" -nt "$stub_dll" ]; then
    step "building the stub bcryptprimitives.dll"
    "$linker" -shared -O2 -Wall -Werror -o "$stub_dll.tmp" "$stub_src" -ladvapi32
    mv "$stub_dll.tmp" "$stub_dll"
fi

stop_wineserver() { WINEPREFIX=$WINEPREFIX "$wineserver" -k 2>/dev/null || true; }
trap stop_wineserver EXIT

system32=$WINEPREFIX/drive_c/windows/system32
if [ ! -d "$system32" ]; then
    step "creating the wine prefix $WINEPREFIX"
    timeout "$timeout_s" "$wine" wineboot --init >/dev/null 2>&1 \
        || die "wineboot --init failed for $WINEPREFIX"
    "$wineserver" -w
fi
[ -d "$system32" ] || die "the wine prefix has no $system32 after wineboot"
cp "$stub_dll" "$system32/bcryptprimitives.dll"

# --- 3. build and run -----------------------------------------------------------------------
export CARGO_TARGET_DIR=$target_dir
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=$linker
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="timeout --kill-after=10 $timeout_s $wine"
step "cargo test -p scanwire-com --target $triple"
cd "$root"
status=0
cargo test -p scanwire-com --target "$triple" -- "$@" || status=$?
step "done (exit $status)"
exit "$status"
