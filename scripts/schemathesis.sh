#!/usr/bin/env bash
# Hostile HTTP input (issue 8): schemathesis, from PyPI, generates requests from Beckon's own
# OpenAPI document (served at /api/openapi.json) and sends them to a real `beckon` on loopback.
# Checks: no 5xx answer (`not_a_server_error`) and every answer matches the documented status
# codes, content type and schema (`status_code_conformance`, `content_type_conformance`,
# `response_schema_conformance`).
#
# The server gets a temporary data directory, an admin and a read token, one deployment whose
# allowed origin every request carries (so ingestion is really exercised, not refused at the
# Origin guard), and one agent account that schemathesis signs in as for the agent routes.
# Usage: bash scripts/schemathesis.sh [MAX_EXAMPLES]   (per operation; default 20)
#        BECKON_BIN=target/release/beckon bash scripts/schemathesis.sh 200
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-20}
version=4.32.5
venv=$PWD/target/schemathesis-venv

if [ ! -x "$venv/bin/schemathesis" ] || ! "$venv/bin/schemathesis" --version | grep -q "$version"; then
  python3 -m venv "$venv" || { apt-get update && apt-get install -y python3-venv && python3 -m venv "$venv"; }
  "$venv/bin/pip" install -q "schemathesis==$version"
fi
if [ -z "${BECKON_BIN:-}" ]; then cargo build -q -p beckon-server --locked; fi
bin=$(realpath "${BECKON_BIN:-target/debug/beckon}")

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

deployment=5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61
origin=http://shop.test
admin=schemathesis-admin-token
password=schemathesis-agent-password
hash=$(printf '%s\n' "$password" | "$bin" hash-password)
cat >"$work/beckon.toml" <<EOF
data_dir = "$work/data"
admin_token = "$admin"
read_token = "schemathesis-read-token"
listen = "127.0.0.1:0"

[limits]
requests_per_second = 100000
burst = 100000
request_timeout_secs = 5

[[deployments]]
id = "$deployment"
name = "Schemathesis shop"
allowed_origins = ["$origin"]

[[agents]]
name = "Fuzz Agent"
email = "agent@shop.test"
password_hash = "$hash"
capacity = 3
EOF

: >"$work/stdout"
"$bin" serve --config "$work/beckon.toml" >"$work/stdout" 2>"$work/stderr" &
server=$!
url=""
for _ in $(seq 100); do
  url=$(sed -n 's/^beckon listening on //p' "$work/stdout")
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/stderr"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "beckon did not start"; cat "$work/stderr"; exit 1; }

cat >"$work/schemathesis.toml" <<EOF
[auth.openapi.adminToken]
bearer = "$admin"
[auth.openapi.readToken]
bearer = "$admin"
[auth.dynamic.openapi.agentToken]
path = "/api/v1/agent/sessions"
payload = { email = "agent@shop.test", password = "$password" }
extract_selector = "/token"

[parameters]
"path.deploymentId" = "$deployment"
EOF

echo "== schemathesis $version against $url (max $examples examples per operation)"
status=0
cd "$work" # schemathesis keeps its example database in ./.schemathesis
run() {
  "$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$url/api/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --header "Origin: $origin" \
    --max-examples "$examples" --seed 8 --workers 2 --request-timeout 10 \
    --suppress-health-check all --warnings off "$@" || status=$?
}
# The web-event bodies (web-events, decisions) skip the coverage phase: generating its cases for
# them crashes Hypothesis itself in most runs (CPython's `SystemError: AST constructor recursion
# depth mismatch` while it describes a strategy), with every request Beckon got answered right.
# They still get the fuzzing phase, and every other operation gets every phase.
run --exclude-path-regex '/ws$|/web-events$|/decisions$'
run --include-path-regex '/(web-events|decisions)$' --phases examples,fuzzing,stateful
if grep -q 'panicked' "$work/stderr"; then
  echo "the server panicked:"; grep -A3 'panicked' "$work/stderr"; status=1
fi
exit "$status"
