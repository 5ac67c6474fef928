// Tests for bench/report.ts: ratio direction, pass/fail against the bars, table and median.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compare, figureDefs, formatTable, formatValue, median, medianRound } from "../../bench/report.ts";

const s = suite("bench/report");

s("compare() divides coreplane by etcd when higher is better", () => {
  const r = compare(figureDefs["put-seq"], { value: 2600 }, { value: 2000 });
  assert.is(r.ratio, 1.3);
  assert.is(r.ratioLabel, "coreplane/etcd");
  assert.is(r.pass, true);
});

s("compare() divides etcd by coreplane when lower is better", () => {
  const r = compare(figureDefs["memory"], { value: 200 }, { value: 100 });
  assert.is(r.ratio, 0.5);
  assert.is(r.ratioLabel, "etcd/coreplane");
  assert.is(r.pass, false);
});

s("compare() checks an absolute bar against coreplane alone", () => {
  assert.is(compare(figureDefs["replay"], { value: 250_000 }, undefined).pass, true);
  assert.is(compare(figureDefs["replay"], { value: 150_000 }, undefined).pass, false);
});

s("compare() leaves ratio and pass unset when a side is missing", () => {
  const r = compare(figureDefs["get-32"], undefined, { value: 28_000 });
  assert.is(r.ratio, undefined);
  assert.is(r.pass, undefined);
});

s("compare() gives no verdict for a figure without a bar", () => {
  const r = compare(figureDefs["watch-fanout"], { value: 10 }, { value: 20 });
  assert.is(r.ratio, 2);
  assert.is(r.pass, undefined);
});

s("formatValue() groups thousands and keeps decimals for small values", () => {
  assert.is(formatValue(12345.6), "12,346");
  assert.is(formatValue(123.45), "123.5");
  assert.is(formatValue(1.234), "1.23");
  assert.is(formatValue(NaN), "—");
});

s("formatTable() prints one line per figure with ratio label and verdict", () => {
  const rows = [
    compare(figureDefs["put-seq"], { value: 2600 }, { value: 2000 }),
    compare(figureDefs["restart"], { value: 500 }, { value: 400 }, "etcd", "harness test"),
  ];
  const lines = formatTable(rows).split("\n");
  assert.is(lines.length, 4);
  assert.match(lines[2], /^put-seq .*2,600 .*2,000 .*1\.30x \(coreplane\/etcd\) .*PASS$/);
  assert.match(lines[3], /^restart .*500\.0 \[etcd\] .*0\.80x \(etcd\/coreplane\) .*FAIL \(harness test\)$/);
});

s("median() takes the middle value, or the mean of the two middle ones", () => {
  assert.is(median([5, 1, 3]), 3);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]));
});

s("medianRound() keeps the median round's details and lists every round's value", () => {
  const r = medianRound([
    { value: 30, detail: { p99: 3 } },
    { value: 10, detail: { p99: 1 } },
    { value: 20, detail: { p99: 2 } },
    { value: 40, detail: { p99: 4 } },
  ]);
  assert.is(r.value, 20);
  assert.equal(r.detail, { p99: 2, roundValues: [30, 10, 20, 40] });
  const one = { value: 5 };
  assert.is(medianRound([one]), one);
});

s.run();
