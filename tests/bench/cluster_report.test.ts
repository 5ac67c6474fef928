// Tests for bench/cluster_report.ts: ratios and bars of the cluster figures, the table, failover
// summary, the half-peak rate and successful requests per second.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  clusterFigureDefs,
  compareCluster,
  formatClusterTable,
  halfPeakRate,
  okPerS,
  summarizeFailover,
} from "../../bench/cluster_report.ts";

const s = suite("bench/cluster_report");

s("PUT figures are coreplane/etcd against their ratio bars", () => {
  let r = compareCluster(clusterFigureDefs["put-seq"], { value: 660 }, { value: 550 });
  assert.ok(Math.abs(r.ratio! - 1.2) < 1e-9);
  assert.is(r.pass, true);
  r = compareCluster(clusterFigureDefs["put-32"], { value: 3900 }, { value: 3200 });
  assert.is(r.pass, false); // 1.22x < 1.25x
  assert.is(r.ratioLabel, "coreplane/etcd");
});

s("quorum-get's bar is coreplane's own share, whatever etcd's is", () => {
  assert.is(compareCluster(clusterFigureDefs["quorum-get"], { value: 80 }, { value: 99 }).pass, true);
  assert.is(compareCluster(clusterFigureDefs["quorum-get"], { value: 79.9 }, { value: 10 }).pass, false);
  assert.is(compareCluster(clusterFigureDefs["quorum-get"], { value: 85 }, undefined).pass, true);
});

s("latency and failover are limits on coreplane's value; ratio is etcd/coreplane", () => {
  const f = compareCluster(clusterFigureDefs.failover, { value: 1200 }, { value: 1800 });
  assert.is(f.pass, true);
  assert.is(f.ratio, 1.5);
  assert.is(f.ratioLabel, "etcd/coreplane");
  assert.is(compareCluster(clusterFigureDefs.failover, { value: 1501 }, undefined).pass, false);
  assert.is(compareCluster(clusterFigureDefs.latency, { value: 10 }, { value: 40 }).pass, true);
  assert.is(compareCluster(clusterFigureDefs.latency, { value: 10.5 }, { value: 40 }).pass, false);
  // Requests that never succeeded make the value Infinity: a miss, and no ratio.
  const inf = compareCluster(clusterFigureDefs.latency, { value: Infinity }, { value: 40 });
  assert.is(inf.pass, false);
  assert.is(inf.ratio, undefined);
});

s("no coreplane value: no pass/miss", () => {
  const r = compareCluster(clusterFigureDefs.failover, undefined, { value: 1700 });
  assert.is(r.pass, undefined);
  assert.is(r.ratio, undefined);
});

s("formatClusterTable() shows values, ratio, bar and result per row", () => {
  const rows = [
    compareCluster(clusterFigureDefs["put-seq"], { value: 700, detail: { otherCores: 0.1 } }, {
      value: 500,
      detail: { otherCores: 0.2 },
    }),
    compareCluster(clusterFigureDefs.failover, { value: 1600 }, { value: 1700 }, "etcd", "harness"),
  ];
  const t = formatClusterTable(rows);
  const lines = t.split("\n");
  assert.is(lines.length, 4);
  assert.match(
    lines[2],
    /^put-seq\s+req\/s\s+700\.0\s+500\.0\s+1\.40x \(coreplane\/etcd\)\s+≥ 1\.2x\s+PASS\s+0\.10\/0\.20$/,
  );
  assert.match(lines[3], /1,600 \[etcd\]/);
  assert.match(lines[3], /≤ 1,500 ms\s+MISS \(harness\)/);
});

s("summarizeFailover() takes the worst kill as the figure", () => {
  const f = summarizeFailover([1200, 1800, 1000, 1400], 1500);
  assert.equal(f, { kills: 4, worstMs: 1800, medianMs: 1300, meanMs: 1350, bestMs: 1000, over: 1 });
  assert.is(summarizeFailover([900], 1500).medianMs, 900);
  assert.throws(() => summarizeFailover([], 1500));
});

s("halfPeakRate() halves and rounds, refusing a useless peak", () => {
  assert.is(halfPeakRate(2875.4), 1438);
  assert.is(halfPeakRate(1), 1);
  assert.throws(() => halfPeakRate(0));
  assert.throws(() => halfPeakRate(NaN));
});

s("okPerS() leaves error answers out", () => {
  assert.is(okPerS({ requests: 1000, non2xx: 100, durationS: 3 }), 300);
  assert.is(okPerS({ requests: 10, non2xx: 20, durationS: 1 }), 0);
});

s.run();
