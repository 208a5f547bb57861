-- What every wrk script here shares (bench/server.sh runs wrk from the repository root): ids
-- unique per wrk thread and request, and the RESULT line bench/server.sh reads.
local common = {}
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("tid", #threads)
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
  -- A script whose threads set a global `exhausted` ran out of prepared input (bench/action.lua).
  local exhausted = 0
  for _, thread in ipairs(threads) do
    exhausted = math.max(exhausted, tonumber(thread:get("exhausted")) or 0)
  end
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p99_us=%d exhausted=%d\n",
    summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(99), exhausted))
end

return common
