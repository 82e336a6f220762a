#!/usr/bin/env bash
# Compile-checks the macOS/BSD backend from Linux: `cargo clippy -D warnings`
# (which type-checks everything `cargo check` does) of the whole workspace, all targets (lib, tests,
# benches, examples), for each target below. Nothing is linked or run here
# (that needs the real systems). Idempotent: targets already installed are
# left alone; `.ci/run` calls this script when it exists.
#
# Tier-3 targets have no prebuilt std for `rustup target add`
# (x86_64-unknown-openbsd, x86_64-unknown-dragonfly). Set
# CONDUCTOR_CHECK_TIER3=1 to also check them with a nightly toolchain and
# -Zbuild-std (needs `rustup component add rust-src --toolchain nightly`; slow).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(
  x86_64-apple-darwin
  aarch64-apple-darwin
  x86_64-unknown-freebsd
  x86_64-unknown-netbsd
)
TIER3=(
  x86_64-unknown-openbsd
  x86_64-unknown-dragonfly
)

installed=$(rustup target list --installed)
missing=()
for t in "${TARGETS[@]}"; do
  grep -qx "$t" <<<"$installed" || missing+=("$t")
done
if ((${#missing[@]})); then
  echo "== rustup target add ${missing[*]}"
  rustup target add "${missing[@]}"
fi

for t in "${TARGETS[@]}"; do
  echo "== cargo clippy --workspace --all-targets --target $t -- -D warnings"
  cargo clippy --workspace --all-targets --target "$t" -- -D warnings
done

if [ "${CONDUCTOR_CHECK_TIER3:-0}" = 1 ]; then
  for t in "${TIER3[@]}"; do
    echo "== cargo +nightly check -Zbuild-std --workspace --all-targets --target $t"
    cargo +nightly check -Zbuild-std=std,panic_abort --workspace --all-targets --target "$t"
  done
else
  echo "== skipped (tier 3, no prebuilt std): ${TIER3[*]}; CONDUCTOR_CHECK_TIER3=1 checks them"
fi
