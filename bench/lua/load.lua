-- wrk script: load exactly <count> keys /v2/keys/bench/k0 .. k<count-1> (64-byte values), split
-- across wrk's threads, then stop. Each thread stops itself once every PUT it issued has been
-- answered; spare connections meanwhile ask GET /v2/keys/ (a local read that changes nothing;
-- not /health, which etcd answers through a Raft round trip). done() prints
-- "LOAD ok=<n> err=<n>" for the harness to check (finish() explains how wrk is made to exit).
-- Must not write any key outside that range.
-- Args after `--`: <count> <threads> (threads must equal wrk's -t).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local value = string.rep("0123456789abcdef", 4) -- 64 bytes
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local body = "value=" .. value
local nextKey, hi, share = 0, 0, 0
-- wrk 4.1 calls request() once on thread 0 before the run to check for pipelining and never
-- sends that request; without this, thread 0 would skip one key.
local skipFirst = false
ok, err = 0, 0

-- wrk's main thread sleeps for the whole -d duration even when every thread has stopped, so each
-- thread says it is finished on stdout and the harness sends wrk SIGINT once all have.
local finished = false
function finish()
  if finished then return end
  finished = true
  io.write("THREAD_DONE\n")
  io.stdout:flush()
  wrk.thread:stop()
end

function init(args)
  local count = tonumber(args[1])
  local nthreads = tonumber(args[2])
  local id = wrk.thread:get("id")
  local lo = math.floor(count * id / nthreads)
  hi = math.floor(count * (id + 1) / nthreads)
  nextKey = lo
  share = hi - lo
  skipFirst = (id == 0)
  if share == 0 then finish() end
end

function request()
  if skipFirst then
    skipFirst = false
    return wrk.format("GET", "/v2/keys/")
  end
  if nextKey < hi then
    local path = "/v2/keys/bench/k" .. nextKey
    nextKey = nextKey + 1
    return wrk.format("PUT", path, headers, body)
  end
  return wrk.format("GET", "/v2/keys/")
end

function response(status, hdrs, b)
  if status >= 300 then
    err = err + 1
  elseif string.find(b, '"action":"set"', 1, true) then
    ok = ok + 1
  end
  if ok + err >= share then finish() end
end

function done(summary, latency, requests)
  local tok, terr = 0, 0
  for _, t in ipairs(threads) do
    tok = tok + t:get("ok")
    terr = terr + t:get("err")
  end
  io.write(string.format("LOAD ok=%d err=%d\n", tok, terr))
end
