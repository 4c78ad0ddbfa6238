-- wrk script: Alertmanager webhook (v4) posts to Escalator, every alert unique.
-- ALERTS (env) alerts per post.
local n = tonumber(os.getenv("ALERTS") or "1")
local counter = 0
local prefix

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  prefix = tostring(math.random(1, 1000000000))
end

request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, n do
    parts[i] = '{"status":"firing","labels":{"alertname":"BenchAlert","service":"bench","id":"'
      .. prefix .. "-" .. counter .. "-" .. i
      .. '"},"annotations":{"summary":"bench"},"startsAt":"2026-11-27T10:00:00Z","endsAt":"0001-01-01T00:00:00Z"}'
  end
  local body = '{"version":"4","status":"firing","receiver":"bench","groupKey":"{}:{}","truncatedAlerts":0,"alerts":['
    .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
