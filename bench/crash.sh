#!/usr/bin/env bash
# Crash consistency (issue 8): the release `beckon` under mixed load (four ingest writers, a
# webhook sink delivering to a loopback receiver, an SSE subscriber) is killed with SIGKILL at a
# random moment, ROUNDS times, and restarted each time. After each restart: no acknowledged event
# is missing, no sequence number is reused or lost, the report counters count what the log
# holds; at the end the webhook has every acknowledged
# event at least once and the stream, resumed from its Last-Event-ID each round, has no gap.
# Usage: bash bench/crash.sh [ROUNDS] (default 20). BECKON_CRASH_SEED=N replays a run's moments.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
BECKON_CRASH_ROUNDS=$rounds cargo test --release --locked -p beckon-server --test crash -- --nocapture
