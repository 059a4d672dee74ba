-- wrk script for the gate's POST /v1/verify: cycles through a pool of scanned codes, one per
-- line (from `gate_demo pool`); a code comes round again only after the whole pool. Run it with
-- one wrk thread (-t1): each thread would cycle through the same pool.
--   [WRK_DELAY_MS=n] wrk -t1 -c32 -d30s --latency -s verify.lua http://127.0.0.1:18080/v1/verify -- pool.txt
-- With WRK_DELAY_MS, each connection waits that long after each answer before its next request
-- (wrk's `delay`): C connections then send about C * 1000 / (WRK_DELAY_MS + latency) requests
-- per second, a fixed moderate rate, so latency is measured without queueing at saturation.
-- wrk's latency excludes the wait. (An environment variable, because wrk looks for `delay`
-- before `init` sees the arguments.)
-- The requests are formatted once in `init`, and no `response` callback is defined (wrk then
-- skips handing each answer to Lua): the load generator's own cost per request stays small on a
-- machine it shares with the server. Non-2xx answers are counted by wrk itself.
function init(args)
  local headers = { ["Content-Type"] = "text/plain" }
  requests = {}
  for line in io.lines(args[1]) do
    if #line > 0 then
      requests[#requests + 1] = wrk.format("POST", nil, headers, line)
    end
  end
  pos = 0
end

function request()
  pos = pos % #requests + 1
  return requests[pos]
end

local wait_ms = tonumber(os.getenv("WRK_DELAY_MS") or "")
if wait_ms and wait_ms > 0 then
  function delay()
    return wait_ms
  end
end

function done(summary, latency, _)
  io.write(string.format("requests: %d, errors: connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("latency p%s: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
