-- wrk script: durable PUTs of 64-byte values to distinct keys (one new key per request).
-- Keys: /v2/keys/bench/<prefix>t<thread>k<n>, so every connection and request writes a key no
-- other request in the run writes. Used by put-seq (-t1 -c1) and put-32 (-t2 -c32).
-- Must not read responses (response() would cost wrk CPU and skew the comparison).
-- Args after `--`: <prefix>.

local counter = 1
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local prefix = "p"
local id = 0
local n = 0
local value = string.rep("0123456789abcdef", 4) -- 64 bytes, no form escaping needed
local headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local body = "value=" .. value

function init(args)
  if args[1] then prefix = args[1] end
  id = wrk.thread:get("id")
end

function request()
  n = n + 1
  return wrk.format("PUT", "/v2/keys/bench/" .. prefix .. "t" .. id .. "k" .. n, headers, body)
end
