#!/usr/bin/env bash
# Builds the browser SDK into target/sdk/dist (what the server serves); with --test-hooks, the
# build for the browser tests into target/sdk/dist-test. Nothing it writes is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
# The standard library's source: xtask rebuilds std for the SDK with panic=immediate-abort.
if ! rustup component list --installed 2>/dev/null | grep -qx rust-src; then
  rustup component add rust-src
fi
# wasm-opt (npm binaryen; Debian's is too old for current Rust output) and esbuild (minifies the script).
if [ ! -x crates/sdk/node_modules/.bin/wasm-opt ] || [ ! -x crates/sdk/node_modules/.bin/esbuild ]; then
  (cd crates/sdk && npm ci --no-audit --no-fund)
fi
# xtask itself is built unoptimised (see its Cargo.toml): in less than half the time.
cargo run --locked --manifest-path xtask/Cargo.toml --target-dir target/xtask -- sdk "$@"
