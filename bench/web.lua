-- wrk script: pageview web events, one per request or a batch of BATCH (the server gives each
-- its own eventId, so the same body can be sent again).
local deployment = os.getenv("DEPLOYMENT")
local origin = os.getenv("ORIGIN")
local batch = tonumber(os.getenv("BATCH") or "1")

local event = '{"customerCookieId":"8c4cbd41-7d0e-4a4e-9a0c-6a3f0cf1f3c1","sessionId":"9b2f4c1d-3e5a-4f6b-8c7d-0e1f2a3b4c5d","eventName":"pageview","page":{"url":"https://shop.example/pricing?utm_source=news","title":"Pricing"},"attributes":{"plan":"pro"}}'
local parts = {}
for i = 1, batch do parts[i] = event end
local body = batch == 1 and event or ("[" .. table.concat(parts, ",") .. "]")
local path = "/api/v1/deployments/" .. deployment .. "/web-events"
local headers = { ["Content-Type"] = "application/json", ["Origin"] = origin }

request = function()
  return wrk.format("POST", path, headers, body)
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p99_us=%d\n",
    summary.requests, summary.duration, errors, latency:percentile(99)))
end
