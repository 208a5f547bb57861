-- wrk script: one page view per request from a new customer and session, on one of 1,000
-- sections; the server decides against every provisioned action map (bench/server.sh makes
-- 1,000, one per section), so each request qualifies one map and answers one content offer.
local deployment = os.getenv("DEPLOYMENT")
local origin = os.getenv("ORIGIN")
local counter = 0
local thread_id = 0

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

local function uuid(n)
  return string.format("%08x-%04x-4%03x-8%03x-%012x", tid, math.random(0, 65535), n % 4096, 0, n)
end

function init(args)
  math.randomseed(os.time() + tid)
  tid = tid + math.random(0, 1000000) * 16
end

request = function()
  counter = counter + 2
  local body = string.format(
    '{"customerCookieId":"%s","sessionId":"%s","eventName":"page_viewed","page":{"url":"https://bench.local/section-%d/offer","title":"Section"},"userAgentString":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"}',
    uuid(counter), uuid(counter + 1), counter % 1000)
  return wrk.format("POST", "/api/v1/deployments/" .. deployment .. "/web-events",
    { ["Content-Type"] = "application/json", ["Origin"] = origin }, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p99_us=%d\n",
    summary.requests, summary.duration, errors, latency:percentile(99)))
end
