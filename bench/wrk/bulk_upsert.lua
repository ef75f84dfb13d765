-- POST a bulk upsert of projects by external id, cycling over the bodies in $BULK_FILE (one
-- JSON request body a line, 100 items each). With MODE=changed every `__N__` in a body becomes
-- a number that grows with each request, so each item really changes; a body is not sent again
-- while a request with it is in flight (16 connections never write the same projects at once).
-- Counters: items = items answered, unchanged / updated / failed = their results, other =
-- responses other than 207.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
COUNTERS = { "items", "unchanged", "updated", "failed", "other" }
items, unchanged, updated, failed, other = 0, 0, 0, 0, 0
local bodies, busy = {}, {}
local i = 0
-- Numbers never sent before, not even by the warm-up run just ended.
local n = os.time() * 10000
local changed = os.getenv("MODE") == "changed"
local sent = {}

function init(args)
  for line in io.lines(os.getenv("BULK_FILE")) do
    table.insert(bodies, line)
    table.insert(busy, false)
  end
  assert(#bodies > 0, "no bodies in BULK_FILE")
end

function request()
  for _ = 1, #bodies do
    i = i % #bodies + 1
    if not busy[i] then break end
  end
  busy[i] = true
  table.insert(sent, i)
  local body = bodies[i]
  if changed then
    n = n + 1
    body = body:gsub("__N__", tostring(n))
  end
  return wrk.format("POST", "/v1/projects/bulk-upsert", {
    Authorization = AUTH,
    ["Content-Type"] = "application/json",
  }, body)
end

local function count(body, what)
  local _, k = body:gsub('"result":"' .. what .. '"', "")
  return k
end

function response(status, headers, body)
  -- Answers come in the order the requests went out on each connection; with one thread the
  -- oldest in flight is freed (close enough for keeping two requests off one body).
  local j = table.remove(sent, 1)
  if j then busy[j] = false end
  if status == 207 then
    local u, c, f = count(body, "unchanged"), count(body, "updated"), count(body, "failed")
    unchanged, updated, failed = unchanged + u, updated + c, failed + f
    items = items + u + c + f + count(body, "created")
  else
    other = other + 1
  end
end
