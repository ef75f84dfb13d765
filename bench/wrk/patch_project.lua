-- PATCH /v1/projects/{id} with If-Match, over $PATCH_RECORDS records from $IDS_FILE, in turn.
-- Each record keeps the ETag of its last 200 and is not sent again while a request on it is in
-- flight (a slow one can outlast a whole round of the others), so the harness itself never
-- races two writes on one record; a 412 (someone else changed it) makes the next request for
-- that record a GET that re-reads its ETag. The description changes every time
-- (a merge patch that changes nothing would write nothing).
-- Counters: acked = PATCH answered 200 (committed: record, audit event, feed event),
-- stale = 412, reread = GETs issued after a 412, other = any other status.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
COUNTERS = { "acked", "stale", "reread", "other" }
acked, stale, reread, other = 0, 0, 0, 0
local recs, byid = {}, {}
local i, n = 0, 0
local pending_reads = 0

function init(args)
  local limit = tonumber(os.getenv("PATCH_RECORDS") or "64")
  local skip = tonumber(os.getenv("PATCH_SKIP") or "0")
  local seen = 0
  for line in io.lines(os.getenv("IDS_FILE")) do
    local id, v = line:match("^(%S+)%s+(%d+)")
    seen = seen + 1
    if id and seen > skip and #recs < limit then
      local r = { id = id, v = v, stale = false }
      table.insert(recs, r)
      byid[id] = r
    end
  end
  assert(#recs > 0, "no ids in IDS_FILE")
end

function request()
  local r
  for _ = 1, #recs do
    i = i % #recs + 1
    r = recs[i]
    if not r.busy then break end
  end
  r.busy = true
  if r.stale then
    r.stale = false
    reread = reread + 1
    pending_reads = pending_reads + 1
    return wrk.format("GET", "/v1/projects/" .. r.id, { Authorization = AUTH })
  end
  n = n + 1
  return wrk.format("PATCH", "/v1/projects/" .. r.id, {
    Authorization = AUTH,
    ["Content-Type"] = "application/merge-patch+json",
    ["If-Match"] = '"' .. r.v .. '"',
  }, '{"description": "[BENCH] patch ' .. n .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local id = body:match('^{"id":"([^"]+)"')
    local etag = headers["etag"] or headers["ETag"] or ""
    local v = etag:match('"(%d+)"')
    local r = id and byid[id]
    if r then r.busy = false end
    if r and v then r.v = v end
    if pending_reads > 0 then
      -- a 200 while a re-read is in flight may be either; count it as the re-read
      pending_reads = pending_reads - 1
    else
      acked = acked + 1
    end
  elseif status == 412 then
    stale = stale + 1
    local id = body:match('"instance":"/v1/projects/([^"]+)"')
    local r = id and byid[id]
    if r then r.stale = true; r.busy = false end
  else
    other = other + 1
  end
end
