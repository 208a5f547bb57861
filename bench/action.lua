-- wrk script: action events for actions the server qualified (bench/server.sh makes them before
-- the run: the server alone records `qualified`), one event per request or a batch of BATCH.
-- ACTIONS names this run's file of qualified webchat actions, one "actionId customerId sessionId
-- actionMapId" line each, split by wrk thread (ACTIONS .. "." .. thread number). Each thread walks
-- its actions in waves of WAVE (25,000 unless set): offered for every action of the wave, then
-- accepted for all of them, then rejected (the visitor closes the pre-chat form: the longest
-- chain of webchat states a page may send; started, engaged and completed are the server's
-- own since 2026-11-30), then the next wave. So an action's previous state was
-- sent WAVE events earlier and is committed (a thread has at most its connections times BATCH
-- events in flight), and the actions being reported on are a moving set, as on a live site where
-- a page reports an action's states within the visit it was offered in. (Before 2026-11-29's
-- fourth session the walk was one wave of every action: each action came back only after all the
-- others, WAVE=1000000 gives that walk again.) Once every state of every action is sent the
-- thread starts over, which only makes duplicates: done() reports it as exhausted=1 and
-- bench/server.sh flags the figure. Each action's fixed fields are formatted once, at init: wrk
-- shares the two cores with the server, and formatting every field of every event made it use
-- more than half a core for batches.
package.path = "bench/?.lua;" .. package.path
local common = require("common")
local batch = tonumber(os.getenv("BATCH") or "1")
local wave_size = tonumber(os.getenv("WAVE") or "25000")
local path = common.route("action-events")
local states = { "offered", "accepted", "rejected" }
local actions = {}
local sent = 0
exhausted = 0 -- global: done() reads it through the thread

local base_init = init
function init(args)
  local thread_number = tid -- before common's init makes it an id prefix
  base_init(args)
  for line in io.lines(os.getenv("ACTIONS") .. "." .. thread_number) do
    local id, customer, session, map = line:match("(%S+) (%S+) (%S+) (%S+)")
    actions[#actions + 1] = string.format(
      '{"actionId":"%s","actionMediaType":"webchat","actionMapId":"%s","actionMapVersion":1,"customerId":"%s","customerIdType":"cookie","sessionId":"%s","timestamp":"2026-11-28T12:00:00.000Z","actionState":"',
      id, map, customer, session)
  end
end

local function event(n)
  local wave = math.min(wave_size, #actions)
  local k = n % (wave * #states)
  local action = actions[(math.floor(n / (wave * #states)) * wave + k % wave) % #actions + 1]
  return action .. states[math.floor(k / wave) + 1] .. '","eventId":"' .. common.uuid(n) .. '"}'
end

-- wrk calls the first thread's request() once before the run to check what it returns, and
-- discards that request. So a thread's first call does not advance the walk: had it, the first
-- thread's first `offered` would never reach the server and the later states of those actions
-- would be refused (the 409s earlier runs counted as errors). In the other thread the first
-- events are sent twice, duplicates the server accepts and stores once.
local checked = false

request = function()
  local parts = {}
  for i = 1, batch do
    parts[i] = event(sent + i - 1)
  end
  if checked then sent = sent + batch end
  checked = true
  if sent > #actions * #states then exhausted = 1 end
  local body = batch == 1 and parts[1] or ("[" .. table.concat(parts, ",") .. "]")
  return wrk.format("POST", path, common.headers, body)
end
