-- wrk script: pageview web events, one per request or a batch of BATCH, each request from a new
-- customer and session (the server decides once per customer and request; one customer for
-- every request would measure its per-customer lock instead). No provisioned map matches them.
local deployment = os.getenv("DEPLOYMENT")
local origin = os.getenv("ORIGIN")
local batch = tonumber(os.getenv("BATCH") or "1")
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  math.randomseed(os.time() + tid)
  tid = tid + math.random(0, 1000000) * 16
end

local function uuid(n)
  return string.format("%08x-0000-4000-8000-%012x", tid, n)
end

local path = "/api/v1/deployments/" .. deployment .. "/web-events"
local headers = { ["Content-Type"] = "application/json", ["Origin"] = origin }

request = function()
  counter = counter + 2
  local event = string.format(
    '{"customerCookieId":"%s","sessionId":"%s","eventName":"pageview","page":{"url":"https://shop.example/pricing?utm_source=news","title":"Pricing"},"attributes":{"plan":"pro"}}',
    uuid(counter), uuid(counter + 1))
  local body = event
  if batch > 1 then
    local parts = {}
    for i = 1, batch do parts[i] = event end
    body = "[" .. table.concat(parts, ",") .. "]"
  end
  return wrk.format("POST", path, headers, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p99_us=%d\n",
    summary.requests, summary.duration, errors, latency:percentile(99)))
end
