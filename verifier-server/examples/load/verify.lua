-- wrk script for the gate's POST /v1/verify: cycles through a pool of scanned codes, one per
-- line (from `gate_demo pool`). Each wrk thread takes every Nth line from its own offset, so no
-- two threads send the same code; a code comes round again only after the whole pool.
--   wrk -t1 -c32 -d30s --latency -s verify.lua http://127.0.0.1:18080/v1/verify -- pool.txt
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  codes = {}
  for line in io.lines(args[1]) do
    if #line > 0 then codes[#codes + 1] = line end
  end
  nthreads = counter
  if nthreads == nil or nthreads == 0 then nthreads = 1 end
  pos = (id or 0) + 1
  headers = { ["Content-Type"] = "text/plain" }
end

function request()
  local code = codes[pos]
  pos = pos + (nthreads or 1)
  if pos > #codes then pos = ((id or 0) % #codes) + 1 end
  return wrk.format("POST", nil, headers, code)
end

statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("requests: %d, errors: connect %d read %d write %d status %d timeout %d\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("latency p%s: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
