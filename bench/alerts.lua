-- wrk script: posts of ALERTS alerts each, every alert unique across threads and runs.
-- FORMAT=webhook: an Alertmanager webhook (version 4), as Alertmanager sends it to Escalator.
-- FORMAT=api:     a postableAlert array for Alertmanager's own POST /api/v2/alerts.
-- GROUPS=50: the alerts spread over 50 alert names, so 50 incidents grow at once (a storm).
local n = tonumber(os.getenv("ALERTS") or "1")
local format = os.getenv("FORMAT") or "webhook"
local groups = tonumber(os.getenv("GROUPS") or "1")
local counter = 0
local prefix

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  prefix = tostring(math.random(1, 1000000000))
end

local function labels(i)
  local name = "BenchAlert"
  if groups > 1 then
    name = name .. ((counter * n + i) % groups)
  end
  return '{"alertname":"' .. name .. '","service":"bench","id":"' .. prefix .. "-" .. counter .. "-" .. i .. '"}'
end

request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, n do
    if format == "api" then
      parts[i] = '{"labels":' .. labels(i) .. ',"annotations":{"summary":"bench"}}'
    else
      parts[i] = '{"status":"firing","labels":' .. labels(i)
        .. ',"annotations":{"summary":"bench"},"startsAt":"2026-11-27T10:00:00Z","endsAt":"0001-01-01T00:00:00Z"}'
    end
  end
  local body
  if format == "api" then
    body = "[" .. table.concat(parts, ",") .. "]"
  else
    body = '{"version":"4","status":"firing","receiver":"bench","groupKey":"{}:{}","truncatedAlerts":0,"alerts":['
      .. table.concat(parts, ",") .. "]}"
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
