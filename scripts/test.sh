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

echo "== browser SDK: clippy, and the served and test-hooks builds"
cargo clippy -p beckon-sdk --target wasm32-unknown-unknown --locked -- -D warnings
bash scripts/build-sdk.sh
bash scripts/build-sdk.sh --test-hooks

echo "== browser tests (headless Chromium, the real SDK build, a real beckon server)"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update && apt-get install -y chromium
fi
# The server they start is target/debug/beckon, which `cargo test --workspace` built above for the
# server's integration tests. (`cargo build -p beckon-server` would build it again, dependencies
# and all: without the other crates and the dev-dependencies, their features differ.)
(cd tests/browser && npm ci --no-audit --no-fund && node --test --test-concurrency=1 tests/)

echo "== schemathesis against the OpenAPI document (a short run; scripts/schemathesis.sh 100 for a long one)"
bash scripts/schemathesis.sh 10

echo "== fuzzing, a short run of each target (scripts/fuzz.sh 60 for a long one)"
bash scripts/fuzz.sh --ci 10
