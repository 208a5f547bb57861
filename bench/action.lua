-- wrk script: one new action per request (a `qualified` event with a fresh actionId), or a batch
-- of BATCH of them. Ids are unique per wrk thread and request, so nothing is a duplicate.
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local batch = tonumber(os.getenv("BATCH") or "1")
local path = common.route("action-events")
local counter = 0

local function event(n)
  return string.format(
    '{"actionId":"%s","actionState":"qualified","actionMediaType":"webchat","actionMapId":"7d0c2a51-8d8e-4f3e-a4a4-5a0d9b7e3c21","actionMapVersion":1,"customerId":"%s","customerIdType":"cookie","sessionId":"9b2f4c1d-3e5a-4f6b-8c7d-0e1f2a3b4c5d","eventId":"%s","timestamp":"2026-11-28T12:00:00.000Z"}',
    common.uuid(n), common.uuid(n + 1), common.uuid(n + 2))
end

request = function()
  local parts = {}
  for i = 1, batch do
    counter = counter + 3
    parts[i] = event(counter)
  end
  local body = batch == 1 and parts[1] or ("[" .. table.concat(parts, ",") .. "]")
  return wrk.format("POST", path, common.headers, body)
end
