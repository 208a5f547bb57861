#!/usr/bin/env bash
# The one benchmark command: builds in release mode, runs every benchmark of the project and
# prints one markdown table per part, each figure beside a baseline measured in the same run and
# the ratio. Paste the output into BENCHMARKS.md.
#   bash bench/run.sh            # everything
#   bash bench/run.sh core       # only the parts named: core, store, server, instructions, fanout,
#                                # chat, sdk, dispatch
set -euo pipefail
cd "$(dirname "$0")/.."
parts=${*:-core store server instructions fanout chat sdk dispatch}
want() { [[ " $parts " == *" $1 "* ]]; }

# criterion's estimate for one benchmark id, as "elements/s" (the middle of its thrpt line).
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
criterion() { # package bench-target [criterion args]; the raw output is kept in $raw
  local package=$1 target=$2; shift 2
  cargo bench -q -p "$package" --bench "$target" --locked -- --warm-up-time 1 --measurement-time 4 "$@" 2>/dev/null |
    tee "$raw" | awk '/^[a-z_]+\// { id = $0; sub(/ +time:.*/, "", id); gsub(/ /, "_", id) }
         /thrpt:/ && id != "" { gsub(/\[|\]/, ""); v = $4; u = $5; sub(/elem\/s/, "", u)
           m = (u == "K") ? 1e3 : (u == "M") ? 1e6 : (u == "G") ? 1e9 : 1
           printf "%s %.0f\n", id, v * m; id = "" }'
}
fig() { awk -v n="$1" '{ if ($1 == n) { print $2; exit } }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
human() { awk -v v="$1" 'BEGIN { if (v >= 1e6) printf "%.1f M", v / 1e6; else if (v >= 1e3) printf "%.1f k", v / 1e3; else printf "%.0f", v }'; }

echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $(date -u +%Y-%m-%dT%H:%MZ)"

if want core; then
  bus=$(criterion beckon-core bus)
  # EventEmitter3 in Node, the reference issue 2 names, measured in this run too.
  ee3=$(cd tests/browser && { [ -d node_modules/eventemitter3 ] || npm ci --no-audit --no-fund >&2; } && node bench-ee3-node.mjs)
  decide=$(criterion beckon-core decide)
  latencies=$(grep -E '^ +[0-9]+ maps, ' "$raw" || true)
  json=$(criterion beckon-core event_json)
  row() { # label value-id baseline-label baseline-id target
    local v b; v=$(printf '%s\n%s\n%s\n%s\n' "$bus" "$decide" "$ee3" "$json" | fig "$2"); b=$(printf '%s\n%s\n%s\n%s\n' "$bus" "$decide" "$ee3" "$json" | fig "$4")
    printf '| %s | %s/s | %s %s/s | %s | %s |\n' "$1" "$(human "$v")" "$3" "$(human "$b")" "$(ratio "$v" "$b")" "$5"
  }
  printf '\n### beckon-core (criterion)\n\n| figure | value | baseline (same run) | ratio | target |\n|---|---|---|---|---|\n'
  row "bus, one handler, exact topic (deliveries)" one_handler/bus_exact "no bus: a Vec of handlers," one_handler/floor ">= 50 M/s"
  row "bus, one handler, \`all\` topic (deliveries)" one_handler/bus_all "no bus:" one_handler/floor ">= 50 M/s"
  row "bus, ten handlers, exact (events)" ten_handlers/bus_exact "no bus:" ten_handlers/floor ">= 10 M/s"
  row "bus, ten handlers, \`all\` (events)" ten_handlers/bus_all "no bus:" ten_handlers/floor ">= 10 M/s"
  row "bus, one handler, exact (deliveries)" one_handler/bus_exact "EventEmitter3 in Node 20, one listener, one shared object:" ee3/one "-"
  row "bus, ten handlers, \`all\` (events)" ten_handlers/bus_all "EventEmitter3, ten listeners, one shared object:" ee3/ten "-"
  row "bus, one handler, exact (deliveries)" one_handler/bus_exact "EventEmitter3, one listener copying the event:" ee3/one_copy "-"
  row "bus, ten handlers, \`all\` (events)" ten_handlers/bus_all "EventEmitter3, ten listeners each copying it:" ee3/ten_copy "-"
  row "topic parsing (parses)" topic_parse/all_30_valid "one handler, exact:" one_handler/bus_exact ">= 20 M/s"
  for n in 10 1000 10000; do
    row "decisions, $n maps, 200 segments" "decide/indexed/$n" "plain scan (decide_by_scan):" "decide/scan/$n" ">= 50 k/s at 1,000"
  done
  row "action event written as JSON (events)" event_json/write "the same JSON from ready-made strings:" event_json/floor "-"
  row "action event read from JSON, checked (events)" event_json/read "written:" event_json/write "-"
  printf '\nSingle-decision latency (100,000 decisions per size, same run):\n\n```\n%s\n```\n' "$latencies"
fi

if want store; then
  store=$(criterion beckon-server store)
  printf '\n### store (criterion, durable commits on this disk)\n\n| figure | value | baseline (same run) | ratio |\n|---|---|---|---|\n'
  base=$(echo "$store" | awk '/baseline/ { print $2 }')
  echo "$store" | grep -v baseline | while read -r id v; do
    printf '| %s (events) | %s/s | bare SQLite inserts %s/s | %s |\n' "$(echo "${id#store/}" | tr _ ' ')" "$(human "$v")" "$(human "$base")" "$(ratio "$v" "$base")"
  done
fi

if want server; then
  printf '\n### server over HTTP (wrk, 256 connections, both cores shared with wrk)\n'
  bash bench/server.sh 10 256
fi

if want instructions; then
  printf '\n### server instructions per request (callgrind, 16 connections)\n\n'
  bash bench/instructions.sh 5
fi

if want fanout; then
  printf '\n### live streams\n\n| figure | value | baseline (same run) | ratio | target |\n|---|---|---|---|---|\n'
  ulimit -n 65536 2>/dev/null || true
  cargo bench -q -p beckon-server --bench sse_fanout --locked 2>/dev/null | grep '^|'
fi

if want chat; then
  printf '\n### web chat at scale (issue 6)\n\n| figure | value | baseline (same run) | ratio | target |\n|---|---|---|---|---|\n'
  # Each idle visitor is a socket on both sides: 5,000 of them need more than the usual 1,024.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  cargo bench -q -p beckon-server --bench chat_scale --locked 2>/dev/null | grep '^|'
fi

if want sdk; then
  printf '\n### browser SDK\n'
  bash bench/sdk.sh
fi

if want dispatch; then
  printf '\n### event dispatch in Chromium, beside EventEmitter3 in the same page\n\n| figure | value | baseline (same run) | ratio |\n|---|---|---|---|\n'
  cargo build -q -p beckon-server --locked
  bash scripts/build-sdk.sh --test-hooks >/dev/null
  (cd tests/browser && { [ -d node_modules/eventemitter3 ] || npm ci --no-audit --no-fund; } && node bench-dispatch.mjs)
fi
