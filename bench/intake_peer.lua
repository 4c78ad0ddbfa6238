-- wrk script: the same alerts pushed into Alertmanager's own API (POST /api/v2/alerts).
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
    parts[i] = '{"labels":{"alertname":"BenchAlert","service":"bench","id":"'
      .. prefix .. "-" .. counter .. "-" .. i
      .. '"},"annotations":{"summary":"bench"}}'
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, "[" .. table.concat(parts, ",") .. "]")
end
