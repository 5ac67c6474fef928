-- wrk script: GETs cycling over the pre-loaded keys /v2/keys/bench/k0 .. k<count-1>.
-- Each thread starts at a different offset so the threads do not read the same key in step.
-- Must not read responses (response() would cost wrk CPU and skew the comparison).
-- Args after `--`: <count> [quorum] (with "quorum", every GET asks ?quorum=true: the cluster
-- bench's linearizable-read figure).

local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local count = 10000
local n = 0
local suffix = ""

function init(args)
  if args[1] then count = tonumber(args[1]) end
  if args[2] == "quorum" then suffix = "?quorum=true" end
  n = (wrk.thread:get("id") * 7919) % count
end

function request()
  local path = "/v2/keys/bench/k" .. n .. suffix
  n = n + 1
  if n >= count then n = 0 end
  return wrk.format("GET", path)
end
