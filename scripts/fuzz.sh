#!/usr/bin/env bash
# Fuzzing (issue 8) with cargo-fuzz (libFuzzer): the topic parser, ingestion JSON (action events
# and web event requests), catalogs (action maps, segments, templates, schedule groups through
# Catalog::build) and the decision engine. Each target runs SECONDS (default 60); a crash or a
# hang (over 5 s on one input) stops the script and leaves the input under fuzz/artifacts/.
# cargo-fuzz needs nightly flags (-Zsanitizer); the machine has only stable Rust, so
# RUSTC_BOOTSTRAP=1 unlocks them on the stable compiler.
# Usage: bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for target in topic ingest_json catalog decide; do
  mkdir -p "corpus/$target"
  echo "== fuzz $target for ${secs}s"
  cargo fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
done
