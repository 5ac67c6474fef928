// Tests for bench/open_loop_stats.ts: the constant-rate schedule and latency percentiles.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { dueBy, percentile, perSecond, scheduledAt, summarize } from "../../bench/open_loop_stats.ts";

const s = suite("bench/open_loop_stats");

s("scheduledAt() spaces requests 1/rate apart from the start", () => {
  assert.is(scheduledAt(100, 1000, 0), 100);
  assert.is(scheduledAt(100, 1000, 5), 105);
  assert.is(scheduledAt(0, 3, 3), 1000);
});

s("dueBy() counts the requests scheduled at or before now, up to the total", () => {
  assert.is(dueBy(100, 1000, 99.9, 10), 0);
  assert.is(dueBy(100, 1000, 100, 10), 1);
  assert.is(dueBy(100, 1000, 104.999, 10), 5);
  assert.is(dueBy(100, 1000, 105, 10), 6);
  assert.is(dueBy(100, 1000, 10_000, 10), 10);
  // Rates whose interval is not exact in binary still agree with scheduledAt at the boundaries.
  for (const rate of [3, 7, 1437, 2875]) {
    for (let i = 0; i < 2000; i += 37) {
      const t = scheduledAt(12.5, rate, i);
      assert.is(dueBy(12.5, rate, t, 1e9), i + 1, `rate ${rate} i ${i}`);
      assert.ok(scheduledAt(12.5, rate, dueBy(12.5, rate, t, 1e9)) > t);
    }
  }
});

s("percentile() is nearest-rank", () => {
  const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.is(percentile(xs, 0.5), 50);
  assert.is(percentile(xs, 0.99), 99);
  assert.is(percentile(xs, 1), 100);
  assert.is(percentile(xs, 0), 1);
  assert.is(percentile([7], 0.99), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

s("summarize() sorts numerically and counts unanswered requests (Infinity) as slowest", () => {
  const lat = Array.from({ length: 1000 }, (_, i) => (i % 10) + 1); // 1..10, a hundred each
  let sum = summarize(lat);
  assert.is(sum.count, 1000);
  assert.is(sum.p50Ms, 5);
  assert.is(sum.p99Ms, 10);
  assert.is(sum.maxMs, 10);
  assert.is(sum.meanMs, 5.5);
  // 2% failed (taking the place of some 10 ms answers): p99 is Infinity, p50 unchanged.
  for (let i = 0; i < 20; i++) lat[i * 50 + 9] = Infinity;
  sum = summarize(lat);
  assert.is(sum.p99Ms, Infinity);
  assert.is(sum.p50Ms, 5);
  // Numeric, not lexicographic, order.
  assert.is(summarize([9, 10, 100, 2]).p50Ms, 9);
});

s("perSecond() summarises each second of schedule", () => {
  // 10 per second for 2.5 s: the second second holds a stall.
  const lat = Array.from({ length: 25 }, (_, i) => (i >= 10 && i < 20 ? 100 + i : 1));
  const ps = perSecond(lat, 10);
  assert.is(ps.length, 3);
  assert.equal(ps.map((x) => x.count), [10, 10, 5]);
  assert.equal(ps.map((x) => x.maxMs), [1, 119, 1]);
  assert.is(ps[1].p50Ms, 114);
  assert.is(ps[1].second, 1);
});

s.run();
