#!/usr/bin/env bash
# Instructions the server executes per request (issue 3), counted by valgrind's callgrind: less
# moved by the machine's other load than requests/s or CPU time, so it tells changes of a few
# per cent apart. For the no-op route, web events one per request and in batches of 100 (no action
# map matches them), and action events one per request (on 20,000 actions the server qualified,
# in waves of 5,000): the whole process per request, the route's handler, the writer's commit
# groups, and for web events the decision (`decide_group`) and the customer context read within
# the handler. The totals move by a few per cent from run to run (how requests fall into commit
# groups, idle wake-ups); the parts move less. Usage: bash bench/instructions.sh [seconds-per-run]
# BECKON_BIN=path/to/beckon counts that binary instead of building this tree.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
bin=${BECKON_BIN:-./target/release/beckon}
[ -n "${BECKON_BIN:-}" ] || cargo build --release -p beckon-server --locked -q

source bench/setup.sh
RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$data/callgrind.out" \
  "$bin" serve --config "$conf" >"$data/out.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

# Inclusive instructions of the functions whose names match, from a callgrind dump.
inclusive() {
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null | grep -E "$2" | head -1 | awk '{ gsub(",", "", $1); print $1 }' || true
}

# A count divided by the run's requests ($requests), or - when the dump has no such function.
per() { [ -n "$1" ] && echo $(($1 / requests)) || echo -; }

printf '| run | requests | instructions per request | handler | writer | decision | customer context |\n|---|---|---|---|---|---|---|\n'
# Action events last: the actions they report on are qualified just before them, so that the
# web events' runs read the customer context in the same small database every time.
for run in noop.lua:1 web.lua:1 web.lua:100 action.lua:1; do
  script=${run%:*} batch=${run#*:}
  [ "$script" = action.lua ] && qualify 20000 "$data/actions"
  callgrind_control -z "$pid" >/dev/null 2>&1
  requests=$(DEPLOYMENT=$deployment ORIGIN=$origin BATCH=$batch ACTIONS="$data/actions" WAVE=5000 wrk -t1 -c16 -d"${secs}s" -s "bench/$script" \
    "http://127.0.0.1:$port/healthz" 2>/dev/null | sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p')
  dumps=$(ls "$data" | grep -c '^callgrind.out.' || true)
  callgrind_control -d "$pid" >/dev/null 2>&1
  # The dump is written when the server's threads next run: wait for it.
  for _ in $(seq 100); do
    [ "$(ls "$data" | grep -c '^callgrind.out.' || true)" -gt "$dumps" ] && break
    sleep 0.1
  done
  sleep 1
  dump="$data/callgrind.out.$((dumps + 1))"
  total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  handler=$(inclusive "$dump" 'axum::handler::Handler<\(M,T1,T2,T3,T4(,T5)?\),S>>::call::\{\{closure\}\}')
  writer=$(inclusive "$dump" 'beckon_server::store::sqlite::commit_group ')
  decision=$(inclusive "$dump" 'beckon_server::decisions::decide_group')
  context=$(inclusive "$dump" 'customer_context::\{\{closure\}\}')
  printf '| %s, %s/request | %s | %s | %s | %s | %s | %s |\n' "$script" "$batch" "$requests" "$(per "$total")" \
    "$(per "$handler")" "$(per "$writer")" "$(per "$decision")" "$(per "$context")"
done
