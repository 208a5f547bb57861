-- wrk script: one page view per request from a new customer and session, on one of 1,000
-- sections; the server decides against every provisioned action map (bench/server.sh makes
-- 1,000, one per section), so each request qualifies one map and answers one content offer.
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local path = common.route("web-events")
local counter = 0

request = function()
  counter = counter + 2
  local body = string.format(
    '{"customerCookieId":"%s","sessionId":"%s","eventName":"page_viewed","page":{"url":"https://bench.local/section-%d/offer","title":"Section"},"userAgentString":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"}',
    common.uuid(counter), common.uuid(counter + 1), counter % 1000)
  return wrk.format("POST", path, common.headers, body)
end
