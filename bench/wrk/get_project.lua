-- GET /v1/projects/{id}, cycling through the records listed in $IDS_FILE ("id version" lines).
-- With MODE=inm each request carries If-None-Match: "<version>" and should be answered 304.
-- With PACE_MS=n each connection waits n ms after a response before its next request: a steady
-- load below saturation, where p99 shows the service's latency rather than the run queue's.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
local reqs = {}
local i = 0

function init(args)
  local inm = os.getenv("MODE") == "inm"
  for line in io.lines(os.getenv("IDS_FILE")) do
    local id, v = line:match("^(%S+)%s+(%d+)")
    if id then
      local h = { Authorization = AUTH }
      if inm then h["If-None-Match"] = '"' .. v .. '"' end
      table.insert(reqs, wrk.format("GET", "/v1/projects/" .. id, h))
    end
  end
  assert(#reqs > 0, "no ids in IDS_FILE")
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

local pace = tonumber(os.getenv("PACE_MS") or "")
if pace then
  function delay()
    return pace
  end
end
