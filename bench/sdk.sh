#!/usr/bin/env bash
# Size and speed of the browser SDK against the budgets of issue #5 (<= 30 KB gzip, <= 50 ms from
# script tag to ready, >= 1,000,000 events/s to a handler): builds the server (release, as
# deployed), the served SDK and the test-hooks build, then runs tests/browser/bench.mjs in headless
# Chromium, which prints a markdown table with each figure beside its budget and notes a missed
# one. Sizes are exact; timings depend on the machine's load, which the table notes.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p beckon-server --locked
bash scripts/build-sdk.sh
bash scripts/build-sdk.sh --test-hooks
if [ ! -x /usr/bin/chromium ]; then
  apt-get update && apt-get install -y chromium
fi
cd tests/browser
if [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund
fi
node bench.mjs
