-- wrk script: pageview web events, one per request or a batch of BATCH, each request from a new
-- customer and session (the server decides once per customer and request; one customer for
-- every request would measure its per-customer lock instead). No provisioned map matches them.
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local batch = tonumber(os.getenv("BATCH") or "1")
local path = common.route("web-events")
local counter = 0

request = function()
  counter = counter + 2
  local event = string.format(
    '{"customerCookieId":"%s","sessionId":"%s","eventName":"pageview","page":{"url":"https://shop.example/pricing?utm_source=news","title":"Pricing"},"attributes":{"plan":"pro"}}',
    common.uuid(counter), common.uuid(counter + 1))
  local body = event
  if batch > 1 then
    local parts = {}
    for i = 1, batch do parts[i] = event end
    body = "[" .. table.concat(parts, ",") .. "]"
  end
  return wrk.format("POST", path, common.headers, body)
end
