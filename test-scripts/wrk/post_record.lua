-- wrk script: one record per POST /record, the app giving each its id.
--   wrk -t2 -c64 -d20s -s test-scripts/wrk/post_record.lua http://localhost:8080/record
-- (apt-get install wrk). The README's Performance section ("HTTP, measured again") gives figures
-- measured with it. Refusals (503: the pipeline is full) and bad requests show in wrk's
-- "Non-2xx or 3xx responses" line.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- A cluster that requires a client token: CHARIOTS_TOKEN, as the other test scripts.
local token = os.getenv("CHARIOTS_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.body = [==[{"tags":{"key":"value","k2":"v2"},"prehash":0,"seed":0}]==]
