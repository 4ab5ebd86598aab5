-- wrk script for bench/signups.sh: POST /api/v1/signups with a distinct email on every
-- request, counting responses by status, and a one-line machine-readable summary.
--
--   wrk -t2 -c32 -d20s -s bench/signups.lua http://127.0.0.1:PORT -- <run-prefix>
--
-- Emails are <run-prefix>-t<thread>-<counter>@bench.test: the prefix is unique per wrk
-- invocation, the thread id per thread and the counter per request, so no two requests
-- of a run (or of two runs on the same database) share an address.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] or string.format("run%d", os.time())
  counter = 0
  created = 0     -- 201 responses
  other = 0       -- any other status
  statuses = ""   -- "422:3,500:1," of non-201 statuses, for the report
  seen = {}
  path = "/api/v1/signups"
  headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
  body_head = '{"campaign":"software-developers","full_name":"Bench Candidate","email":"'
  body_tail = '@bench.test","citizenship":["PL"],"residence_country":"PL","profession":"2512",'
    .. '"years_experience":5,"english_level":"B2","norwegian_level":"none",'
    .. '"consent_pool":true,"consent_share":true,"consent_newsletter":false}'
end

function request()
  counter = counter + 1
  local email = string.format("%s-t%d-%d", prefix, tid, counter)
  return wrk.format("POST", path, headers, body_head .. email .. body_tail)
end

function response(status, hdrs, body)
  if status == 201 then
    created = created + 1
  else
    other = other + 1
    seen[status] = (seen[status] or 0) + 1
    local s = ""
    for code, n in pairs(seen) do s = s .. code .. ":" .. n .. "," end
    statuses = s
    if other <= 3 then
      io.stderr:write(string.format("wrk: HTTP %d: %s\n", status, (body or ""):sub(1, 300)))
    end
  end
end

function done(summary, latency, requests)
  local created_all, other_all, codes = 0, 0, ""
  for _, t in ipairs(threads) do
    created_all = created_all + (t:get("created") or 0)
    other_all = other_all + (t:get("other") or 0)
    codes = codes .. (t:get("statuses") or "")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d created=%d non201=%d codes=%s seconds=%.3f rps=%.1f created_per_s=%.1f "
      .. "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f "
      .. "connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    summary.requests, created_all, other_all, (codes == "" and "-" or codes), secs,
    summary.requests / secs, created_all / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.timeout))
end
