# Sourced by bench/server.sh, bench/instructions.sh and bench/sign-ins.sh: the benchmark's data
# directory, action maps and configuration, for a server on 127.0.0.1:$port. Sets port, data,
# conf, deployment, origin, and defines `qualify` and `start_release_server`.
port=18181
data=$(mktemp -d)
conf="$data/beckon.toml"
deployment=5e1f6c0a-7d2b-4c39-9a4e-0b7c2f1d8e61
origin="http://bench.local"
# 1,000 action maps for the decision figure: one per section of the site, each triggered by a
# page view of its section and showing one content offer template. And 100 webchat maps that a
# web event named bench_qualify qualifies all at once: the action-event figures need actions the
# server qualified (it alone records `qualified`), made before those runs by `qualify` below.
rules="$data/rules"
mkdir -p "$rules"
{
  printf '{"actionTemplates":[{"id":"3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98","name":"Offer","mediaType":"contentOffer","state":"Active","contentOffer":{"displayMode":"Toast","layoutMode":"TextOnly","title":"Hello"}}],"actionMaps":['
  for i in $(seq 0 999); do
    [ "$i" -gt 0 ] && printf ','
    printf '{"id":"00000000-0000-4000-8000-%012d","displayName":"Section %d","triggerWithEventConditions":[{"key":"page.url","values":["/section-%d/"],"operator":"containsAny","streamType":"Web","sessionType":"web","eventName":"page_viewed"}],"pageUrlConditions":[{"values":["/section-%d/"],"operator":"containsAny"}],"action":{"mediaType":"contentOffer","actionTemplate":{"id":"3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98"}}}' "$i" "$i" "$i" "$i"
  done
  for i in $(seq 0 99); do
    printf ',{"id":"00000000-0000-4000-9000-%012d","displayName":"Chat %d","triggerWithEventConditions":[{"key":"page.url","values":["/qualify/"],"operator":"containsAny","streamType":"Web","sessionType":"web","eventName":"bench_qualify"}],"ignoreFrequencyCap":true,"action":{"mediaType":"webchat","isPacingEnabled":false}}' "$i" "$i"
  done
  printf ']}'
} > "$rules/maps.json"
cat > "$conf" <<TOML
provisioning_dir = "$rules"
listen = "127.0.0.1:$port"
data_dir = "$data/data"
admin_token = "bench"
read_token = "bench"
[limits]
requests_per_second = 1000000
burst = 1000000
max_body_bytes = 1048576
# Each of qualify's requests qualifies 10,000 actions: seconds of work under callgrind on a slow
# machine, more than the default limit of 10.
request_timeout_secs = 120
# Set, not left to the default (10000): server.sh's connections (its second argument) and
# sign-ins.sh's N are the caller's to choose; under the ulimit -n 65536 of run.sh.
max_connections = 60000
[[deployments]]
id = "$deployment"
name = "bench"
allowed_origins = ["$origin"]
assume_agents_available = true
TOML

qualify() { # actions file: web events that qualify `actions` webchat actions, listed in file.1/.2
  python3 - "$1" "$2" "http://127.0.0.1:$port" "$deployment" "$origin" <<'PY'
import json, sys, urllib.request, uuid
actions, out, base, deployment, origin = int(sys.argv[1]), sys.argv[2], *sys.argv[3:]
def call(path, body=None):
    headers = {"Origin": origin, "Content-Type": "application/json", "Authorization": "Bearer bench"}
    data = json.dumps(body).encode() if body is not None else None
    with urllib.request.urlopen(urllib.request.Request(base + path, data, headers)) as r:
        return json.load(r)
after = call("/api/v1/events?limit=1")["head"]
customers = actions // 100  # each bench_qualify event qualifies the 100 chat maps
for start in range(0, customers, 100):
    call(f"/api/v1/deployments/{deployment}/web-events", [
        {"customerCookieId": str(uuid.uuid4()), "sessionId": str(uuid.uuid4()),
         "eventName": "bench_qualify", "page": {"url": "https://bench.local/qualify/", "title": "Q"}}
        for _ in range(min(100, customers - start))])
files = [open(f"{out}.{n}", "w") for n in (1, 2)]
written = 0
while True:
    page = call(f"/api/v1/events?after={after}&limit=1000&topic=webchat:qualified")
    for r in page["events"]:
        e = r["event"]
        files[written % 2].write(f'{e["actionId"]} {e["customerId"]} {e["sessionId"]} {e["actionMapId"]}\n')
        written += 1
    if not page["events"]:
        break
    after = page["next"]
print(f"qualified {written} actions", file=sys.stderr)
PY
}

# Runs `BECKON_BIN` (default: the release build, built first) on the configuration above, with its
# log in $data/out.log; sets `pid`, stops it and removes the data directory on exit, and waits for
# /healthz (exits with the log if the server does not come up).
start_release_server() {
  bin=${BECKON_BIN:-./target/release/beckon}
  [ -n "${BECKON_BIN:-}" ] || cargo build --release -p beckon-server --locked -q
  RUST_LOG=warn "$bin" serve --config "$conf" >"$data/out.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not start (is port $port taken?):" >&2
  cat "$data/out.log" >&2
  exit 1
}
