#!/usr/bin/env bash
# Builds the browser SDK (served at /sdk/v1/), then runs the beckon server. Arguments go to
# `beckon` (default: `serve`). Installs what the build needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-sdk.sh
if [ "$#" -eq 0 ]; then set -- serve; fi
exec cargo run --release --locked -p beckon-server -- "$@"
