-- Shared by every scenario script: the Authorization header from $TOKEN, and a done() that
-- writes wrk's summary (and any counters the scenario keeps) as JSON to $WRK_OUT.
local token = os.getenv("TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
AUTH = token and ("Bearer " .. token) or nil
COUNTERS = COUNTERS or {}

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local function num(x) return string.format("%.3f", x) end

function done(summary, latency, requests)
  local extra = {}
  for _, name in ipairs(COUNTERS) do
    local total = 0
    for _, t in ipairs(threads) do total = total + (t:get(name) or 0) end
    table.insert(extra, string.format('"%s": %d', name, total))
  end
  local e = summary.errors
  local parts = {
    '"requests": ' .. summary.requests,
    '"duration_us": ' .. summary.duration,
    '"bytes": ' .. summary.bytes,
    '"errors": {"connect": ' .. e.connect .. ', "read": ' .. e.read .. ', "write": ' .. e.write ..
      ', "status": ' .. e.status .. ', "timeout": ' .. e.timeout .. '}',
    '"latency_us": {"mean": ' .. num(latency.mean) .. ', "stdev": ' .. num(latency.stdev) ..
      ', "max": ' .. latency.max .. ', "p50": ' .. latency:percentile(50) ..
      ', "p90": ' .. latency:percentile(90) .. ', "p99": ' .. latency:percentile(99) ..
      ', "p999": ' .. latency:percentile(99.9) .. '}',
    '"counters": {' .. table.concat(extra, ", ") .. '}',
  }
  local out = os.getenv("WRK_OUT")
  local f = assert(io.open(out, "w"))
  f:write("{" .. table.concat(parts, ", ") .. "}\n")
  f:close()
end
