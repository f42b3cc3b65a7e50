-- dni.lua — wrk script for bench/run: POSTs a body template in which every @DNI@ becomes a
-- different 8-digit DNI on each request, so no cache (verifier, provider, anything) can turn the
-- run into a replay of one request. The DNIs stay in 10000000..39999999, which the RENIEC
-- simulator answers as "found" (simulators/reniec/README.md).
--   wrk -s bench/dni.lua URL -- TEMPLATE_FILE [SOAPACTION]
-- done() prints one machine-readable line: BENCH requests=... non2xx=... p50_us=... p99_us=...

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local parts, counter

function init(args)
  local f = assert(io.open(args[1], "rb"), "cannot read template " .. tostring(args[1]))
  local text = f:read("*a")
  f:close()
  parts = {}
  for piece in (text .. "@DNI@"):gmatch("(.-)@DNI@") do table.insert(parts, piece) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
  wrk.headers["SOAPAction"] = '"' .. (args[2] or "") .. '"'
  -- Threads take disjoint slices of the DNI range.
  counter = thread_id * 1000000
end

function request()
  counter = counter + 1
  local dni = string.format("%08d", 10000000 + counter % 30000000)
  return wrk.format(nil, nil, nil, table.concat(parts, dni))
end

function done(summary, latency, requests)
  io.write(string.format(
    "BENCH requests=%d non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d " ..
    "duration_s=%.2f rps=%.0f p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.duration / 1e6,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max))
end
