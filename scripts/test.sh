#!/usr/bin/env bash
# Runs every test of Beckon: the core (host and wasm32 build), the server's unit and integration
# tests (which start the real `beckon` binary on loopback). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

echo "== beckon-core builds for wasm32-unknown-unknown"
cargo build -p beckon-core --target wasm32-unknown-unknown --locked

echo "== cargo test --workspace"
cargo test --workspace --locked
