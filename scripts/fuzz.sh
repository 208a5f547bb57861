#!/usr/bin/env bash
# Fuzzing (issue 8) with libFuzzer: the topic parser, ingestion JSON (action events and web event
# requests), catalogs (action maps, segments, templates, schedule groups through Catalog::build)
# and the decision engine. The targets in fuzz/ are a cargo-fuzz crate (`cargo fuzz run topic`
# works where cargo-fuzz is installed); this script builds them itself with the flags cargo-fuzz
# passes (sanitizer coverage, `--cfg fuzzing`, debug assertions, overflow checks), so nothing has
# to be installed first.
#
# For each target: every file under fuzz/regressions/<target>/ (inputs that once failed) is
# replayed, then libFuzzer runs for SECONDS from fuzz/corpus/<target> plus seeds made from
# testdata/decisions.json (catalogs and pages). A crash, a panic or a hang (over 5 s on one
# input) stops the script and leaves the input under fuzz/artifacts/<target>/: once fixed, copy
# it to fuzz/regressions/<target>/ so every later run replays it.
#
# Usage: bash scripts/fuzz.sh [SECONDS]        each target SECONDS (default 60), AddressSanitizer
#                                              (a nightly flag: RUSTC_BOOTSTRAP=1 unlocks it on
#                                              the stable compiler)
#        bash scripts/fuzz.sh --ci [SECONDS]   CI's short run (default 15 s each): no sanitizer,
#                                              stable flags only, an unoptimised build (fuzz/Cargo.toml's
#                                              `smoke` profile)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
ci=false
if [ "${1:-}" = --ci ]; then
  ci=true
  shift
fi
if $ci; then secs=${1:-15}; else secs=${1:-60}; fi
targets="topic ingest_json catalog decide"
triple=$(rustc -vV | sed -n 's/^host: //p')
flags="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
profile=release
if $ci; then
  out=target/plain
  profile=smoke
else
  export RUSTC_BOOTSTRAP=1
  flags="$flags -Zsanitizer=address"
  out=target/asan
fi
echo "== building the fuzz targets ($out)"
# --target keeps RUSTFLAGS off build scripts and proc macros, as cargo-fuzz does. Not --locked:
# fuzz/Cargo.lock follows the server's dependencies as they change.
RUSTFLAGS="$flags" cargo build -q --profile "$profile" --bins --target "$triple" --target-dir "$out"

seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
python3 - "$seeds" <<'EOF'
import json, os, sys
out = sys.argv[1]
for t in ("catalog", "decide"):
    os.makedirs(os.path.join(out, t))
cases = json.load(open("../testdata/decisions.json"))["cases"]
for i, case in enumerate(cases):
    catalog = dict(case["catalog"])
    for t in ("catalog", "decide"):
        seed = dict(catalog, url=case.get("pageUrl", "https://shop.example/")) if t == "decide" else catalog
        with open(os.path.join(out, t, f"case-{i}.json"), "w") as f:
            json.dump(seed, f)
EOF

for target in $targets; do
  bin="$out/$triple/$profile/$target"
  mkdir -p "corpus/$target" "artifacts/$target"
  regressions=(regressions/"$target"/*)
  if [ -e "${regressions[0]}" ]; then
    echo "== $target: replaying ${#regressions[@]} regression input(s)"
    "$bin" -timeout=5 "${regressions[@]}"
  fi
  echo "== fuzz $target for ${secs}s"
  corpora=("corpus/$target")
  if [ -d "$seeds/$target" ]; then corpora+=("$seeds/$target"); fi
  status=0
  "$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" "${corpora[@]}" >"$seeds/$target.log" 2>&1 || status=$?
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$seeds/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "$seeds/$target.log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
