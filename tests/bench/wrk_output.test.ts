// Tests for bench/wrk_output.ts: parsing wrk 4.x output (with --latency) and load.lua's summary.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parseLoadLine, parseWrkCount, parseWrkOutput, parseWrkTimeMs } from "../../bench/wrk_output.ts";

const s = suite("bench/wrk_output");

const sample = `Running 3s test @ http://127.0.0.1:22110
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.63ms    1.30ms  31.31ms   94.06%
    Req/Sec    10.00k     1.82k   14.22k    75.61%
  Latency Distribution
     50%  640.00us
     75%    1.72ms
     90%    2.27ms
     99%    1.01s
  608173 requests in 1.00m, 173.92MB read
  Non-2xx or 3xx responses: 5
  Socket errors: connect 1, read 2, write 3, timeout 4
Requests/sec:  10133.78
Transfer/sec:      2.90MB
LOAD ok=10000 err=0
`;

s("parseWrkTimeMs() converts every unit wrk prints to milliseconds", () => {
  assert.is(parseWrkTimeMs("640.00us"), 0.64);
  assert.is(parseWrkTimeMs("1.72ms"), 1.72);
  assert.is(parseWrkTimeMs("1.01s"), 1010);
  assert.is(parseWrkTimeMs("1.00m"), 60_000);
  assert.throws(() => parseWrkTimeMs("fast"));
});

s("parseWrkCount() reads k and M suffixes", () => {
  assert.is(parseWrkCount("10.00k"), 10_000);
  assert.is(parseWrkCount("1.5M"), 1_500_000);
  assert.is(parseWrkCount("42"), 42);
});

s("parseWrkOutput() reads throughput, latency percentiles and errors", () => {
  const r = parseWrkOutput(sample);
  assert.is(r.requestsPerS, 10133.78);
  assert.is(r.requests, 608173);
  assert.is(r.durationS, 60);
  assert.is(r.latencyAvgMs, 1.63);
  assert.is(r.latencyStdevMs, 1.3);
  assert.is(r.latencyMaxMs, 31.31);
  assert.equal(r.percentilesMs, { "50": 0.64, "75": 1.72, "90": 2.27, "99": 1010 });
  assert.is(r.non2xx, 5);
  assert.equal(r.socketErrors, { connect: 1, read: 2, write: 3, timeout: 4 });
});

s("parseWrkOutput() defaults errors to zero when wrk prints no error lines", () => {
  const clean = sample.replace(/^\s+(Non-2xx|Socket).*\n/gm, "");
  const r = parseWrkOutput(clean);
  assert.is(r.non2xx, 0);
  assert.equal(r.socketErrors, { connect: 0, read: 0, write: 0, timeout: 0 });
});

s("parseWrkOutput() throws when wrk printed no result", () => {
  assert.throws(() => parseWrkOutput("unable to connect to 127.0.0.1:22110 Connection refused\n"), /Requests\/sec/);
});

s("parseLoadLine() reads load.lua's summary, or nothing", () => {
  assert.equal(parseLoadLine(sample), { ok: 10000, err: 0 });
  assert.is(parseLoadLine("Requests/sec: 1\n"), undefined);
});

s.run();
