-- What every wrk script here shares (bench/server.sh runs wrk from the repository root): ids
-- unique per wrk thread and request, and the RESULT line bench/server.sh reads.
local common = {}
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  math.randomseed(os.time() + tid)
  tid = tid + math.random(0, 1000000) * 16
end

--- A UUIDv4-shaped id, unique for this thread and `n`.
function common.uuid(n)
  return string.format("%08x-0000-4000-8000-%012x", tid, n)
end

--- The headers of an ingestion request from the deployment's allowed origin.
common.headers = { ["Content-Type"] = "application/json", ["Origin"] = os.getenv("ORIGIN") }

--- The path of an ingestion route of the benchmark's deployment.
function common.route(name)
  return "/api/v1/deployments/" .. os.getenv("DEPLOYMENT") .. "/" .. name
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(99)))
end

return common
