#!/usr/bin/env bash
# Memory and time of a burst of agent sign-ins (each an argon2 run of 19 MiB): resident memory
# of the idle server, then after N sign-ins sent at once with an unknown email (N=100 is one
# client's request burst), and how long the burst took. The server's sign-in quotas are set to
# their bounds (1000 at once per client), so that the argon2 runs, not the quota, are measured.
# `BECKON_BIN` picks the binary (default: the release build). Prints one markdown table.
#   bash bench/sign-ins.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
source bench/setup.sh
printf '[chat]\nsign_ins_per_minute = 600\nsign_in_burst = 1000\n' >>"$conf"
start_release_server

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
busy=$(grep -c '^503$' "$data/codes" || true)
limited=$(grep -c '^429$' "$data/codes" || true)

printf '\n| figure | value |\n|---|---|\n'
printf '| resident memory idle (MB; peak so far, start-up included) | %s (%s) |\n' "$idle" "$idle_peak"
printf '| resident memory after %s sign-ins at once (MB; peak) | %s (%s) |\n' "$n" "$(rss_mb)" "$(peak_mb)"
printf '| the burst took (s) | %s (of %s: %s answered 401, %s 503 busy, %s 429) |\n' "$took" "$n" "$refused" "$busy" "$limited"
