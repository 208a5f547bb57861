#!/usr/bin/env bash
# Memory and time of a burst of agent sign-ins (each an argon2 run of 19 MiB): resident memory
# of the idle server, then after N sign-ins sent at once with an unknown email (N=100 is one
# client's default burst), and how long the burst took. `BECKON_BIN` picks the binary (default:
# the release build). Prints one markdown table.
#   bash bench/sign-ins.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
bin=${BECKON_BIN:-./target/release/beckon}
[ -n "${BECKON_BIN:-}" ] || cargo build --release -p beckon-server --locked -q

source bench/setup.sh
RUST_LOG=warn "$bin" serve --config "$conf" >"$data/out.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
if ! kill -0 "$pid" 2>/dev/null || ! curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then
  echo "the server did not start (is port $port taken?):" >&2; cat "$data/out.log" >&2; exit 1
fi

rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' /proc/$pid/status; }
peak_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' /proc/$pid/status; }
idle=$(rss_mb)
idle_peak=$(peak_mb)
start=$(date +%s.%N)
seq "$n" | xargs -P "$n" -I{} curl -s --max-time 60 -o /dev/null -w '%{http_code}\n' \
  -H 'Content-Type: application/json' -d '{"email":"nobody-{}@bench.local","password":"wrong"}' \
  "http://127.0.0.1:$port/api/v1/agent/sessions" >"$data/codes" || true
took=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
refused=$(grep -c '^401$' "$data/codes" || true)

printf '\n| figure | value |\n|---|---|\n'
printf '| resident memory idle (MB; peak so far, start-up included) | %s (%s) |\n' "$idle" "$idle_peak"
printf '| resident memory after %s sign-ins at once (MB; peak) | %s (%s) |\n' "$n" "$(rss_mb)" "$(peak_mb)"
printf '| the burst took (s) | %s (%s of %s answered 401) |\n' "$took" "$refused" "$n"
