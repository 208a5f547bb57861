-- wrk script: one new action per request (a `qualified` event with a fresh actionId), or a batch
-- of BATCH of them. Ids are unique per wrk thread and request, so nothing is a duplicate.
local deployment = os.getenv("DEPLOYMENT")
local origin = os.getenv("ORIGIN")
local batch = tonumber(os.getenv("BATCH") or "1")
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

local function uuid(n)
  return string.format("%08x-%04x-4%03x-8%03x-%012x", tid, math.random(0, 65535), n % 4096, 0, n)
end

local function event(n)
  return string.format(
    '{"actionId":"%s","actionState":"qualified","actionMediaType":"webchat","actionMapId":"7d0c2a51-8d8e-4f3e-a4a4-5a0d9b7e3c21","actionMapVersion":1,"customerId":"%s","customerIdType":"cookie","sessionId":"9b2f4c1d-3e5a-4f6b-8c7d-0e1f2a3b4c5d","eventId":"%s","timestamp":"2026-11-28T12:00:00.000Z"}',
    uuid(n), uuid(n + 1), uuid(n + 2))
end

function init(args)
  math.randomseed(os.time() + tid)
  tid = tid + math.random(0, 1000000) * 16
end

request = function()
  local parts = {}
  for i = 1, batch do
    counter = counter + 3
    parts[i] = event(counter)
  end
  local body = batch == 1 and parts[1] or ("[" .. table.concat(parts, ",") .. "]")
  return wrk.format("POST", "/api/v1/deployments/" .. deployment .. "/action-events",
    { ["Content-Type"] = "application/json", ["Origin"] = origin }, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p99_us=%d\n",
    summary.requests, summary.duration, errors, latency:percentile(99)))
end
