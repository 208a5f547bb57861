#!/usr/bin/env bash
# Server benchmarks (issue 3): ingest with wrk against a no-op route of the same server, batches
# of 100, resident memory, and SSE fan-out. Prints one table row per figure with its baseline and
# the ratio. Usage: bash bench/server.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p beckon-server --locked -q

port=18181
data=$(mktemp -d)
conf="$data/beckon.toml"
deployment=5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61
origin="http://bench.local"
cat > "$conf" <<TOML
listen = "127.0.0.1:$port"
data_dir = "$data/data"
admin_token = "bench"
[limits]
requests_per_second = 1000000
burst = 1000000
max_body_bytes = 1048576
[[deployments]]
id = "$deployment"
name = "bench"
allowed_origins = ["$origin"]
TOML
RUST_LOG=warn ./target/release/beckon serve --config "$conf" >"$data/out.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

rss_kb() { awk '/VmRSS/ {print $2}' /proc/$pid/status; }
idle_rss=$(rss_kb)

run() { # script, batch -> "requests/s p99_us errors"
  DEPLOYMENT=$deployment ORIGIN=$origin BATCH=$2 wrk -t2 -c64 -d"${secs}s" -s "bench/$1" \
    "http://127.0.0.1:$port/healthz" 2>/dev/null | awk '/^RESULT/ {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      printf "%.0f %d %d\n", v["requests"] / (v["duration_us"] / 1e6), v["p99_us"], v["errors"] }'
}

read -r noop_rps noop_p99 noop_err < <(run noop.lua 1)
read -r one_rps one_p99 one_err < <(run action.lua 1)
read -r batch_rps batch_p99 batch_err < <(run action.lua 100)
loaded_rss=$(rss_kb)
batch_eps=$((batch_rps * 100))

div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

printf '\n| figure | value | baseline | ratio | target |\n|---|---|---|---|---|\n'
printf '| ingest, 1 event/request (req/s) | %s (p99 %s µs, %s errors) | no-op route %s req/s | %s | >= 0.5 |\n' \
  "$one_rps" "$one_p99" "$one_err" "$noop_rps" "$(div "$one_rps" "$noop_rps")"
printf '| ingest, batches of 100 (events/s) | %s (p99 %s µs, %s errors) | 1 event/request %s events/s | %s | >= 200000 events/s |\n' \
  "$batch_eps" "$batch_p99" "$batch_err" "$one_rps" "$(div "$batch_eps" "$one_rps")"
printf '| resident memory idle (MB) | %s | after the load above: %s | %s | < 64 |\n' \
  "$(div "$idle_rss" 1024)" "$(div "$loaded_rss" 1024)" "$(div "$idle_rss" "$loaded_rss")"
