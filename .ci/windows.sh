#!/usr/bin/env bash
# Builds conductor for x86_64-pc-windows-gnu and runs its Windows tests under
# Wine: the library's unit tests (incl. sys/windows), tests/winargs_wine.rs
# (command-line quoting against real parsers), tests/windows_backend.rs (the
# backend end to end) and tests/windows_ctrl_break.rs (the graceful stop).
# Idempotent: installs only what is missing, reuses the Wine prefix.
#
#   bash .ci/windows.sh                       # all Windows tests of conductor
#   bash .ci/windows.sh batch -- --nocapture  # extra arguments go to cargo test
#
# Needs root (or passwordless apt) on Debian/Ubuntu for the first run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET=x86_64-pc-windows-gnu
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$CARGO_TARGET_DIR/$TARGET/debug"
START=$SECONDS

log() { printf '==> %s\n' "$*" >&2; }

# --- 1. packages --------------------------------------------------------------
missing=()
command -v wine >/dev/null 2>&1 && [ -x /usr/lib/wine/wine64 ] || missing+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    # Always refresh the package lists before installing: lists that know
    # the packages can still be stale (their versions gone from the mirror,
    # "Can't find a source to download version ...").
    log "apt-get update"
    $SUDO apt-get update -qq
    log "installing ${missing[*]} ($(apt-cache policy wine64 | sed -n 's/ *Candidate: //p'))"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
log "$(WINEDEBUG=-all wine --version)"

# --- 2. Rust target -------------------------------------------------------------
if ! rustup target list --installed | grep -qx "$TARGET"; then
    log "rustup target add $TARGET"
    rustup target add "$TARGET"
fi

# --- 3. build: tests, examples, helper binaries ---------------------------------
log "building conductor tests and examples for $TARGET"
cargo build -p conductor --target "$TARGET" --examples --tests --quiet
# The Windows backend gets the same lints as the Unix ones (benches are Unix-only).
log "cargo clippy for $TARGET"
cargo clippy -p conductor --target "$TARGET" --lib --tests --examples --quiet -- -D warnings

CC=x86_64-w64-mingw32-gcc
# Wine 8 has no bcryptprimitives.dll (ProcessPrng), which Rust std imports.
build_c() { # out, sources..., then flags after --
    local out="$1"; shift
    local newest=0 src
    for src in "$@"; do
        [ "$src" = -- ] && break
        [ "$src" -nt "$out" ] && newest=1
    done
    if [ ! -f "$out" ] || [ "$newest" = 1 ]; then
        local args=() flags=() seen=0
        for src in "$@"; do
            if [ "$src" = -- ]; then seen=1; continue; fi
            if [ "$seen" = 1 ]; then flags+=("$src"); else args+=("$src"); fi
        done
        "$CC" -O2 -Wall -Wextra -Werror "${args[@]}" -o "$out" "${flags[@]}"
    fi
}
mkdir -p "$OUT/deps" "$OUT/examples" "$OUT/shim"
build_c "$OUT/shim/bcryptprimitives.dll" "$ROOT/.ci/shim/bcryptprimitives.c" "$ROOT/.ci/shim/bcryptprimitives.def" \
    -- -shared -ladvapi32
# The loader looks beside each .exe first: put the shim next to every binary.
for dir in "$OUT" "$OUT/deps" "$OUT/examples"; do
    cp -u "$OUT/shim/bcryptprimitives.dll" "$dir/"
done
# A C child that shows the platform's own argv parsers (msvcrt, CommandLineToArgvW).
build_c "$OUT/examples/print_argv_c.exe" "$ROOT/.ci/wine/print_argv_c.c" -- -municode -lshell32
export CONDUCTOR_REQUIRE_C_CHILD=1
# Lets the tests allow for documented differences of Wine's cmd.exe.
export CONDUCTOR_UNDER_WINE=1

# --- 4. Wine prefix ---------------------------------------------------------------
export WINEPREFIX="$CARGO_TARGET_DIR/wine-prefix"
export WINEDEBUG=-all
export WINEARCH=win64
# No Mono/Gecko install prompts (they would need the network).
export WINEDLLOVERRIDES="mscoree=;mshtml="
# Debian's Wine 8 has no wine64-preloader, so nothing reserves the fixed
# addresses a Windows process needs (e.g. KUSER_SHARED_DATA at 0x7ffe0000)
# before ASLR places the loader's own mappings: now and then a new process
# dies at start ("failed to map the shared user data: c0000018"), which
# shows up as CreateProcessW failing with ERROR_INTERNAL_ERROR or cmd.exe
# not finding a program. Without address randomisation (inherited by every
# Wine process started from here) the ranges are always free.
NORAND="setarch $(uname -m) -R"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    log "initialising Wine prefix $WINEPREFIX"
    $NORAND wineboot -i >/dev/null 2>&1 || true
    wineserver -w
    [ -f "$WINEPREFIX/system.reg" ] || { echo "wineboot failed to create $WINEPREFIX" >&2; exit 1; }
fi
# Scratch directories left by earlier runs of the tests.
find "$WINEPREFIX/drive_c/users" -maxdepth 3 -type d \( -name 'conductor winargs *' -o -name 'conductor backend *' \) -prune \
    -exec rm -rf {} + 2>/dev/null || true
# Keep one wineserver for the whole run (a new one per process is slow), and
# stop it when this script ends, however it ends: a wineserver left to exit on
# its own 60 s after its last client would hold the caller's output pipe
# open (CI waits on that pipe) for that long.
stop_wine() { wineserver -k >/dev/null 2>&1 || true; wineserver -w >/dev/null 2>&1 || true; }
trap stop_wine EXIT
$NORAND wineserver -p60 </dev/null >/dev/null 2>&1 || true  # already running is fine

# --- 5. run -----------------------------------------------------------------------
# (With WINEDEBUG=-all the `wine` wrapper runs the 64-bit loader without
# warning about the missing 32-bit half.)
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$NORAND wine"
log "running conductor's Windows tests under Wine"
status=0
timeout 600 cargo test -p conductor --target "$TARGET" --lib --test winargs_wine --test windows_backend --test windows_ctrl_break "$@" || status=$?
log "windows.sh finished in $((SECONDS - START)) s (exit $status)"
exit "$status"
