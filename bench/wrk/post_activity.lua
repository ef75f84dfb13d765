-- POST /v1/activities: a new activity in a draft action plan ($DOCUMENT_ID) per request.
-- Every 201 is a committed transaction with its audit event and change-feed event.
dofile(os.getenv("BENCH_DIR") .. "/wrk/common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"document_id": "' .. os.getenv("DOCUMENT_ID") ..
  '", "kind": "knowledge_exchange", "title": "[BENCH] Kunskapsutbyte", "status": "planned"}'
