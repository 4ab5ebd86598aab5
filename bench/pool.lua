-- wrk script for bench/pool.sh: GET one candidate-list URL with a bearer token over
-- keep-alive connections, counting responses by status, and a one-line
-- machine-readable summary with p50/p95/p99 from wrk's latency histogram.
--
--   wrk -t2 -c4 -d10s -s bench/pool.lua http://127.0.0.1:PORT -- '/api/v1/candidates?...' TOKEN

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  path = args[1] or "/api/v1/candidates?limit=50"
  headers = { ["Authorization"] = "Bearer " .. (args[2] or ""), ["Accept"] = "application/json" }
  ok = 0          -- 200 responses
  other = 0       -- any other status
  statuses = ""   -- "500:3,401:1," of non-200 statuses, for the report
  seen = {}
  req = wrk.format("GET", path, headers)
end

function request()
  return req
end

function response(status, hdrs, body)
  if status == 200 then
    ok = ok + 1
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
  local ok_all, other_all, codes = 0, 0, ""
  for _, t in ipairs(threads) do
    ok_all = ok_all + (t:get("ok") or 0)
    other_all = other_all + (t:get("other") or 0)
    codes = codes .. (t:get("statuses") or "")
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d ok=%d non200=%d codes=%s seconds=%.3f rps=%.1f "
      .. "p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f "
      .. "connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
    summary.requests, ok_all, other_all, (codes == "" and "-" or codes), secs,
    summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.timeout))
end
